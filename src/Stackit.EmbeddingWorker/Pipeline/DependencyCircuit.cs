namespace Stackit.EmbeddingWorker.Pipeline;

internal enum CircuitState
{
    /// <summary>The dependency answers: intake runs.</summary>
    Closed,

    /// <summary>The dependency failed repeatedly: intake pauses, the backlog stays in the queue.</summary>
    Open,

    /// <summary>The pause is over: one message probes the dependency; its outcome closes or reopens the circuit.</summary>
    HalfOpen,
}

/// <summary>
/// A circuit breaker over one dependency (the embeddings endpoint or Qdrant), fed with the outcome of every
/// call after its retries. It does not block the calls themselves: it tells Intake whether to receive more
/// work, so an outage leaves the backlog in the queue instead of burning its delivery attempts.
/// </summary>
internal sealed partial class DependencyCircuit(string dependency, CircuitOptions options, TimeProvider time, ILogger logger, ProgressWatch? progress = null)
{
    private readonly Lock _gate = new();
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private long _pauseStartedAt;
    private TimeSpan _pause = options.BreakDuration;

    public string Dependency { get; } = dependency;

    public CircuitState State
    {
        get { lock (_gate) { return _state; } }
    }

    public void Success()
    {
        progress?.Moved();
        lock (_gate)
        {
            _consecutiveFailures = 0;
            if (_state != CircuitState.Closed)
            {
                _state = CircuitState.Closed;
                _pause = options.BreakDuration;
                LogClosed(Dependency);
            }
        }
    }

    public void Failure(string reason)
    {
        lock (_gate)
        {
            _consecutiveFailures++;
            if (_state == CircuitState.HalfOpen)
            {
                _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, options.MaxBreakDuration.Ticks));
                Open(reason);
            }
            else if (_state == CircuitState.Closed && _consecutiveFailures >= options.FailureThreshold)
            {
                Open(reason);
            }
        }
    }

    /// <summary>
    /// Whether Intake may receive now. While open, no; once the pause is over, one probe is admitted
    /// (<paramref name="probe"/>) and the next only after another pause, until an outcome arrives.
    /// </summary>
    public bool TryAdmit(out bool probe, out TimeSpan retryIn)
    {
        lock (_gate)
        {
            probe = false;
            retryIn = TimeSpan.Zero;
            if (_state == CircuitState.Closed)
            {
                return true;
            }
            var waited = time.GetElapsedTime(_pauseStartedAt);
            if (waited < _pause)
            {
                retryIn = _pause - waited;
                return false;
            }
            _state = CircuitState.HalfOpen;
            _pauseStartedAt = time.GetTimestamp();
            probe = true;
            LogProbing(Dependency);
            return true;
        }
    }

    private void Open(string reason)
    {
        _state = CircuitState.Open;
        _pauseStartedAt = time.GetTimestamp();
        LogOpened(Dependency, _consecutiveFailures, _pause, reason);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Circuit for {Dependency} opened after {Failures} consecutive failures; intake pauses for {Pause}. Last error: {Reason}")]
    private partial void LogOpened(string dependency, int failures, TimeSpan pause, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit for {Dependency} half-open: one message probes it")]
    private partial void LogProbing(string dependency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit for {Dependency} closed: it answers again, intake resumes")]
    private partial void LogClosed(string dependency);
}
