namespace Stackit.EmbeddingWorker.Diagnostics;

/// <summary>
/// Logs a dependency that is down as an outage, not as a stream of failures: one Warning line when it goes down (the
/// reason in one line), one every <see cref="Interval"/> while it stays down (for how long, how many attempts failed),
/// and one Information line when it answers again. Each failure's exception, with its stack, goes to Debug only —
/// the Azure SDK's retries wrap one unreachable host into an <see cref="AggregateException"/> of 160 lines.
/// Thread-safe; one instance per dependency and caller.
/// </summary>
internal sealed partial class OutageLog(string dependency, ILogger logger, TimeProvider time)
{
    /// <summary>How often a continuing outage is logged again.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private DateTimeOffset? _downSince;
    private DateTimeOffset _lastLogged;
    private long _failures;

    public bool IsDown
    {
        get
        {
            lock (_gate)
            {
                return _downSince is not null;
            }
        }
    }

    /// <summary>An attempt failed with <paramref name="exception"/>; <paramref name="then"/> says what happens next (e.g. "trying again in 00:00:05").</summary>
    public void Failed(Exception exception, string then)
    {
        var now = time.GetUtcNow();
        var reason = Reason(exception);
        bool first, again;
        TimeSpan downFor;
        long failures;
        lock (_gate)
        {
            _failures++;
            failures = _failures;
            first = _downSince is null;
            _downSince ??= now;
            downFor = now - _downSince.Value;
            again = !first && now - _lastLogged >= Interval;
            if (first || again)
            {
                _lastLogged = now;
            }
        }
        if (first)
        {
            LogDown(dependency, reason, then);
        }
        else if (again)
        {
            LogStillDown(dependency, downFor, failures, reason);
        }
        LogFailure(exception, dependency);
    }

    /// <summary>An attempt succeeded: logs the recovery when the dependency was down.</summary>
    public void Succeeded()
    {
        TimeSpan downFor;
        long failures;
        lock (_gate)
        {
            if (_downSince is not { } since)
            {
                return;
            }
            downFor = time.GetUtcNow() - since;
            failures = _failures;
            _downSince = null;
            _failures = 0;
        }
        LogBack(dependency, downFor, failures);
    }

    /// <summary>One line: the innermost cause's message (an aggregate's first), without its stack.</summary>
    internal static string Reason(Exception exception)
    {
        var cause = exception;
        while (true)
        {
            if (cause is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            {
                cause = aggregate.InnerExceptions[0];
            }
            else if (cause.InnerException is { } inner)
            {
                cause = inner;
            }
            else
            {
                break;
            }
        }
        var message = $"{cause.GetType().Name}: {cause.Message}";
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Dependency} is down: {Reason}; {Then} (the stack of each failure at Debug)")]
    private partial void LogDown(string dependency, string reason, string then);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Dependency} still down after {DownFor} ({Failures} failed attempts): {Reason}")]
    private partial void LogStillDown(string dependency, TimeSpan downFor, long failures, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Dependency} is back after {DownFor} ({Failures} failed attempts)")]
    private partial void LogBack(string dependency, TimeSpan downFor, long failures);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Dependency}: attempt failed")]
    private partial void LogFailure(Exception exception, string dependency);
}
