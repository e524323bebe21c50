using System.CommandLine;
using Azure.Storage.Queues.Models;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>poison list</c> shows what is in <c>&lt;queue&gt;-poison</c> and why; <c>poison replay</c> puts the original
/// messages back on the work queue (after the cause is fixed) and removes them from the poison queue.
/// </summary>
internal static class PoisonCommands
{
    /// <summary>The queue service peeks and receives at most this many messages at once.</summary>
    private const int PageSize = 32;

    public static Command Create(Func<CliContext> context)
    {
        var list = new Command("list", $"Show up to {PageSize} poisoned messages: message id, document id, attempts, when, and the error.");
        list.SetAction((_, cancellationToken) => ListAsync(context(), cancellationToken));

        var max = new Option<int>("--max") { Description = "Replay at most this many messages.", DefaultValueFactory = _ => int.MaxValue };
        var messageId = new Option<string?>("--message-id") { Description = "Replay only the poisoned message with this id (as 'poison list' shows it)." };
        var replay = new Command("replay", "Put poisoned messages back on the work queue, as they were first sent.") { max, messageId };
        replay.SetAction((parse, cancellationToken) => ReplayAsync(context(), parse.GetValue(max), parse.GetValue(messageId), cancellationToken));

        return new Command("poison", "Inspect and replay the poison queue.") { list, replay };
    }

    private static async Task<int> ListAsync(CliContext context, CancellationToken cancellationToken)
    {
        var poison = context.Queues.PoisonOf(context.Queue.Name);
        if (await context.Queues.ApproximateLengthAsync(poison.Name, cancellationToken).ConfigureAwait(false) is not { } total)
        {
            await context.Output.WriteLineAsync($"{poison.Name} does not exist: nothing was ever poisoned.").ConfigureAwait(false);
            return 0;
        }
        PeekedMessage[] page = (await poison.PeekMessagesAsync(PageSize, cancellationToken).ConfigureAwait(false)).Value;
        await context.Output.WriteLineAsync($"{total} messages in {poison.Name}; showing {page.Length}.").ConfigureAwait(false);
        foreach (var message in page)
        {
            var envelope = PoisonEnvelope.Read(message.Body);
            await context.Output.WriteLineAsync(
                $"{message.MessageId}\t{Printable.Of(envelope.DocumentId ?? "-")}\tattempts {envelope.DequeueCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}\t{Printable.Of(envelope.FailedAt ?? message.InsertedOn?.ToString("O") ?? "-")}\t{Printable.Of(envelope.Error ?? "(no reason recorded: see the worker's log)")}")
                .ConfigureAwait(false);
        }
        return 0;
    }

    private static async Task<int> ReplayAsync(CliContext context, int max, string? messageId, CancellationToken cancellationToken)
    {
        var poison = context.Queues.PoisonOf(context.Queue.Name);
        var live = context.Queues.Live;
        // Only what was poisoned before the replay began: a message a running worker poisons again at once comes
        // back as a new one, and replaying it too would bounce it between the queues for as long as the command runs.
        var startedAt = DateTimeOffset.UtcNow;
        max = (int)Math.Min(max, (await poison.GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount);
        var replayed = 0;
        var skipped = new List<QueueMessage>();
        while (replayed < max)
        {
            QueueMessage[] page = (await poison.ReceiveMessagesAsync(Math.Min(PageSize, max - replayed), TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false)).Value;
            if (page.Length == 0)
            {
                break;
            }
            foreach (var message in page)
            {
                if ((messageId is not null && message.MessageId != messageId) || message.InsertedOn > startedAt)
                {
                    skipped.Add(message);
                    continue;
                }
                // Send first, then delete: a failure in between leaves a copy in both queues, never in neither.
                await live.SendMessageAsync(PoisonEnvelope.Read(message.Body).Original, cancellationToken: cancellationToken).ConfigureAwait(false);
                await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                replayed++;
            }
            if (messageId is not null && replayed > 0)
            {
                break;
            }
        }
        foreach (var message in skipped)
        {
            await poison.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        await context.Output.WriteLineAsync($"Replayed {replayed} messages from {poison.Name} to {live.Name}.").ConfigureAwait(false);
        return messageId is not null && replayed == 0 ? 1 : 0;
    }
}
