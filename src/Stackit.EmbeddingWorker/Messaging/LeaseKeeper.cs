using Azure;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// Keeps held messages invisible while their jobs are worked on: each lease is renewed when half of
/// <c>Queue:VisibilityTimeout</c> has passed since it was last set, keeping the newest pop receipt. A lease the
/// queue no longer knows is marked lost, so its job's settlement is skipped. Started first and stopped last:
/// at shutdown, whatever the pipeline could not finish is made visible again at once for another replica.
/// </summary>
internal sealed partial class LeaseKeeper(
    LeaseRegistry leases,
    WorkQueues queues,
    MessageSettler settler,
    QueueOptions options,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<LeaseKeeper> logger) : BackgroundService
{
    /// <summary>Renewals and releases are one round trip each; this many go at once.</summary>
    internal const int ConcurrentCalls = 16;

    public TimeSpan RenewAfter => options.VisibilityTimeout / 2;

    /// <summary>Often enough that a lease due for renewal waits at most an eighth of its timeout.</summary>
    public TimeSpan CheckInterval => TimeSpan.FromTicks(Math.Clamp(options.VisibilityTimeout.Ticks / 8, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(15).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RenewDueAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever a round of renewals met, the next round comes: a keeper that stopped would let every
                    // held message become visible again while its job is still worked on.
                    LogRoundFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// How long handing back the unfinished messages may take at shutdown, past the host's stop deadline if need be:
    /// a message left leased waits out its whole visibility timeout before another replica can take it.
    /// </summary>
    internal static readonly TimeSpan ReleaseBudget = TimeSpan.FromSeconds(5);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        using var budget = new CancellationTokenSource(ReleaseBudget, time);
        await ReleaseAllAsync(budget.Token).ConfigureAwait(false);
    }

    internal Task RenewDueAsync(CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(leases.OlderThan(RenewAfter).ToList(),
            new ParallelOptions { MaxDegreeOfParallelism = ConcurrentCalls, CancellationToken = cancellationToken },
            async (lease, token) =>
            {
                // A lease being settled right now needs no renewal; if the settle fails, the next check renews it.
                if (!lease.TryTakeTurn(out var turn))
                {
                    return;
                }
                using (turn)
                {
                    if (lease.State == LeaseState.Held)
                    {
                        await RenewAsync(lease, token).ConfigureAwait(false);
                    }
                }
            });

    /// <summary>
    /// Makes every message still held visible again at once, so another replica takes it without waiting. A lease
    /// tracked while a round runs (a receive or a page that ended late) is taken in the next round.
    /// </summary>
    internal async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        var tried = new HashSet<QueueLease>();
        var released = 0;
        try
        {
            while (leases.Snapshot().Where(tried.Add).ToList() is { Count: > 0 } held)
            {
                await Parallel.ForEachAsync(held,
                    new ParallelOptions { MaxDegreeOfParallelism = ConcurrentCalls, CancellationToken = cancellationToken },
                    async (lease, token) =>
                    {
                        try
                        {
                            await settler.ReleaseAsync(lease, TimeSpan.Zero, token).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (QueueErrors.IsUnavailable(ex))
                        {
                            LogVisibilityFailed(ex, lease.MessageId, "release at shutdown");
                        }
                        if (lease.State == LeaseState.Settled)
                        {
                            Interlocked.Increment(ref released);
                        }
                        lease.Ticket.Dispose();
                    }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Out of time: the rest come back when their visibility runs out. Nothing is lost, only delayed.
        }
        if (tried.Count > 0)
        {
            LogReleased(released, tried.Count);
        }
    }

    private async Task RenewAsync(QueueLease lease, CancellationToken cancellationToken)
    {
        var at = time.GetTimestamp();
        try
        {
            var receipt = await queues.Get(lease.QueueName)
                .UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: options.VisibilityTimeout, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            lease.Renewed(receipt.Value.PopReceipt, at);
        }
        catch (RequestFailedException ex) when (QueueErrors.IsLeaseLost(ex))
        {
            lease.Lost();
            leases.Forget(lease);
            metrics.LeaseLost("renew");
            LogLost(lease.MessageId, ex.ErrorCode);
        }
        catch (Exception ex) when (QueueErrors.IsUnavailable(ex))
        {
            LogVisibilityFailed(ex, lease.MessageId, "renewal");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of message {MessageId} was lost at renewal ({ErrorCode}); its job will not be settled here")]
    private partial void LogLost(string messageId, string? errorCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not set the visibility of message {MessageId} ({Action}); trying again at the next check")]
    private partial void LogVisibilityFailed(Exception exception, string messageId, string action);

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of lease renewals failed; the next round comes at the next check")]
    private partial void LogRoundFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutdown: released {Released} of {Held} unfinished messages for other replicas")]
    private partial void LogReleased(int released, int held);
}
