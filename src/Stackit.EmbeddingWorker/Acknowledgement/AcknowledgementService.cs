using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Health;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Acknowledgement;

/// <summary>
/// The last stage: settles each message according to its job's outcome and frees its in-flight slot.
/// A message is deleted only when every chunk of its job is stored.
/// </summary>
internal sealed partial class AcknowledgementService(
    ChannelReader<JobOutcome> outcomes,
    MessageSettler settler,
    InFlightLimiter inFlight,
    DependencyCircuits circuits,
    PipelineShutdown shutdown,
    QueueOptions options,
    WorkerMetrics metrics,
    ILogger<AcknowledgementService> logger) : BackgroundService
{
    /// <summary>Settling is a round trip to the queue each; done one at a time it would cap throughput.</summary>
    internal const int ConcurrentSettles = 16;

    /// <summary>Ends when the outcome channel is complete and empty: the last stage to stop.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        shutdown.DrainAsync(abort => Parallel.ForEachAsync(outcomes.ReadAllAsync(abort),
            new ParallelOptions { MaxDegreeOfParallelism = ConcurrentSettles, CancellationToken = abort },
            async (outcome, token) => await SettleOneAsync(outcome, token).ConfigureAwait(false)));

    private async Task SettleOneAsync(JobOutcome outcome, CancellationToken stoppingToken)
    {
        using var scope = JobLogScope.Begin(logger, outcome.Lease.MessageId, outcome.DocumentId);
        try
        {
            await SettleAsync(outcome, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The message stays leased and comes back after its visibility timeout: nothing is lost.
            LogSettleFailed(ex, outcome.Lease.MessageId, outcome.Kind);
        }
        finally
        {
            inFlight.Release();
        }
    }

    private Task SettleAsync(JobOutcome outcome, CancellationToken cancellationToken)
    {
        var lease = outcome.Lease;
        switch (outcome.Kind)
        {
            case OutcomeKind.Stored:
                LogStored(outcome.DocumentId, lease.MessageId);
                metrics.JobStored();
                return settler.DeleteAsync(lease, cancellationToken);
            case OutcomeKind.Rejected:
                return settler.PoisonAsync(lease, outcome.DocumentId, outcome.Reason ?? "rejected", cancellationToken);
            default:
                if (circuits.AnyOpen)
                {
                    // A dependency is down, not this job: its attempts must not run out while the outage lasts.
                    var wait = settler.RetryDelay(lease.DequeueCount);
                    LogOutage(outcome.DocumentId, lease.MessageId, wait, outcome.Reason);
                    metrics.JobRetried();
                    return lease.DequeueCount >= options.MaxDequeueCount - 1
                        ? settler.RequeueAsync(lease, wait, cancellationToken)
                        : settler.ReleaseAsync(lease, wait, cancellationToken);
                }
                if (lease.DequeueCount >= options.MaxDequeueCount)
                {
                    var error = $"gave up after {lease.DequeueCount} attempts; last error: {outcome.Reason}";
                    return settler.PoisonAsync(lease, outcome.DocumentId, error, cancellationToken);
                }
                var delay = settler.RetryDelay(lease.DequeueCount);
                LogRetryLater(outcome.DocumentId, lease.MessageId, lease.DequeueCount, delay, outcome.Reason);
                metrics.JobRetried();
                return settler.ReleaseAsync(lease, delay, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Document {DocumentId} stored; deleting message {MessageId}")]
    private partial void LogStored(string? documentId, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}, attempt {DequeueCount}) failed and is retried in {Delay}: {Reason}")]
    private partial void LogRetryLater(string? documentId, string messageId, long dequeueCount, TimeSpan delay, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}) waits {Delay} for a dependency to recover: {Reason}")]
    private partial void LogOutage(string? documentId, string messageId, TimeSpan delay, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not settle message {MessageId} ({Kind}); it becomes visible again when its lease runs out")]
    private partial void LogSettleFailed(Exception exception, string messageId, OutcomeKind kind);
}
