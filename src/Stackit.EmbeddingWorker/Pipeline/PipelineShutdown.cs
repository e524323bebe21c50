using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// How the pipeline stops. On SIGTERM Intake stops receiving at once and the later stages drain: each ends
/// when the stage before it has ended and its channel is empty. Draining may take <see cref="DrainTimeout"/>
/// (the host's <c>HostOptions:ShutdownTimeout</c> less a reserve); then <see cref="Abort"/> cancels whatever
/// is still running, and the reserve is left for handing the unfinished messages back to the queue.
/// </summary>
internal sealed class PipelineShutdown : IDisposable
{
    /// <summary>
    /// How long a queue call that was already under way when draining ran out may still take: cut off mid-flight,
    /// a delete or hand-back may have reached the queue while its answer (the new pop receipt) did not reach us.
    /// </summary>
    internal static readonly TimeSpan SettleGrace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _abort;
    private readonly CancellationTokenSource _settle;
    private readonly CancellationTokenRegistration _stopping;
    private volatile bool _isStopping;

    public PipelineShutdown(IHostApplicationLifetime lifetime, IOptions<HostOptions> host, TimeProvider time)
    {
        _abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _settle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        DrainTimeout = DrainBudget(host.Value.ShutdownTimeout);
        _stopping = lifetime.ApplicationStopping.Register(() =>
        {
            _isStopping = true;
            _abort.CancelAfter(DrainTimeout);
            _settle.CancelAfter(DrainTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : DrainTimeout + SettleGrace);
        });
    }

    /// <summary>Cancelled when draining has run out of time: stages stop where they are.</summary>
    public CancellationToken Abort => _abort.Token;

    /// <summary>
    /// For one queue call (a receive, a settle) that must not be cut off by the stop itself: a call cut off
    /// mid-flight may have changed the message in the queue without this replica learning of it, and the message
    /// would then stay invisible for its whole visibility timeout. Cancelled <see cref="SettleGrace"/> after
    /// <see cref="Abort"/>.
    /// </summary>
    public CancellationToken QueueCall => _settle.Token;

    /// <summary>The host is stopping: a message that is settled now is handed back at once, not after a backoff.</summary>
    public bool IsStopping => _isStopping;

    public TimeSpan DrainTimeout { get; }

    /// <summary>
    /// Runs a draining stage with the <see cref="Abort"/> token: it ends when its input channel is complete and
    /// empty, or when draining is aborted (not an error). Either way <paramref name="completeOutput"/> then
    /// tells the next stage that nothing more comes.
    /// </summary>
    public async Task DrainAsync(Func<CancellationToken, Task> stage, Action? completeOutput = null)
    {
        try
        {
            await stage(Abort).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Abort.IsCancellationRequested)
        {
            // Out of time: what is left unsettled is released by the lease keeper.
        }
        finally
        {
            completeOutput?.Invoke();
        }
    }

    /// <summary>A fifth of the shutdown timeout, between 1 and 10 seconds, is kept for releasing messages.</summary>
    internal static TimeSpan DrainBudget(TimeSpan shutdownTimeout)
    {
        if (shutdownTimeout == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }
        var reserve = TimeSpan.FromTicks(Math.Clamp(shutdownTimeout.Ticks / 5, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(10).Ticks));
        return shutdownTimeout > reserve ? shutdownTimeout - reserve : TimeSpan.Zero;
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _abort.Dispose();
        _settle.Dispose();
    }
}
