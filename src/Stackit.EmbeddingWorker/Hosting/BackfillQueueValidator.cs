using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>
/// The backfill queue is a queue of its own, named by Azure's rules: one derived from <c>Queue:Name</c> (when
/// <c>Backfill:Queue</c> is empty) must still leave room for its <c>-poison</c> queue, and pages must never share
/// the live queue.
/// </summary>
internal sealed class BackfillQueueValidator(IOptions<QueueOptions> queue) : IValidateOptions<BackfillOptions>
{
    public ValidateOptionsResult Validate(string? name, BackfillOptions options)
    {
        var live = queue.Value.Name;
        var backfill = options.QueueName(live);
        var suffix = QueueOptions.PoisonQueueOf("").Length;
        if (options.Queue is not { Length: > 0 } && QueueNames.IsValid(live, suffix) && !QueueNames.IsValid(backfill, suffix))
        {
            var longest = QueueNames.MaxLength - suffix - (backfill.Length - live.Length);
            return ValidateOptionsResult.Fail(
                $"Queue:Name '{live}' is too long for the backfill queue named after it: '{backfill}' and its '-poison' queue would be over Azure's {QueueNames.MaxLength} characters. Set Backfill:Queue to a name of its own, or keep Queue:Name to {longest} characters.");
        }
        if (string.Equals(backfill, live, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail($"Backfill:Queue must not be the work queue ('{live}'): backfill pages would be taken for jobs.");
        }
        return ValidateOptionsResult.Success;
    }
}
