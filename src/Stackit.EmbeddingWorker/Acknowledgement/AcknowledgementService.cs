using System.Threading.Channels;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Acknowledgement;

/// <summary>
/// The last stage: settles each message through the <see cref="SettlementPolicy"/> according to its job's outcome
/// and gives back what its work held (<see cref="LeaseTicket"/>). A message is deleted only when every chunk of its job is stored.
/// </summary>
internal sealed partial class AcknowledgementService(
    ChannelReader<JobOutcome> outcomes,
    SettlementPolicy policy,
    PipelineContext context,
    ILogger<AcknowledgementService> logger) : BackgroundService
{
    /// <summary>Settling is a round trip to the queue each; done one at a time it would cap throughput.</summary>
    internal const int ConcurrentSettles = 16;

    private readonly OutageLog _queueOutage = new("Queue (settling messages)", logger, context.Time);

    /// <summary>Ends when the outcome channel is complete and empty: the last stage to stop.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        context.Shutdown.DrainAsync(abort => Parallel.ForEachAsync(outcomes.ReadAllAsync(abort),
            new ParallelOptions { MaxDegreeOfParallelism = ConcurrentSettles, CancellationToken = abort },
            // A settle once begun is not cut off when draining runs out: cut off mid-flight, it could change the
            // message in the queue without this replica learning its new pop receipt, and the lease keeper could then
            // not hand it back (see PipelineShutdown.QueueCall). Outcomes not yet begun stay leased and are handed back.
            async (outcome, _) => await SettleOneAsync(outcome, context.Shutdown.QueueCall).ConfigureAwait(false)));

    private async Task SettleOneAsync(JobOutcome outcome, CancellationToken cancellationToken)
    {
        using var scope = JobLogScope.Begin(logger, outcome.Lease.MessageId, outcome.DocumentId);
        try
        {
            await policy.CompleteAsync(outcome.Lease, outcome.DocumentId, outcome.Kind, outcome.Reason, context.Shutdown.IsStopping, cancellationToken).ConfigureAwait(false);
            context.Progress.Moved();
            _queueOutage.Succeeded();
        }
        catch (Exception ex) when (ex is not OperationCanceledException && QueueErrors.IsUnavailable(ex))
        {
            // Storage is down: one outage, not one error per message. Each message stays leased and comes back after
            // its visibility timeout: nothing is lost.
            _queueOutage.Failed(ex, "messages not settled come back when their leases run out");
            LogSettleDeferred(outcome.Lease.MessageId, outcome.Kind);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The message stays leased and comes back after its visibility timeout: nothing is lost.
            LogSettleFailed(ex, outcome.Lease.MessageId, outcome.Kind);
        }
        finally
        {
            // Whatever the settle did: the slot, the claimed bytes and a page's slot are free again.
            outcome.Lease.Ticket.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not settle message {MessageId} ({Kind}); it becomes visible again when its lease runs out")]
    private partial void LogSettleFailed(Exception exception, string messageId, OutcomeKind kind);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not settle message {MessageId} ({Kind}) while the queue is down; it becomes visible again when its lease runs out")]
    private partial void LogSettleDeferred(string messageId, OutcomeKind kind);
}
