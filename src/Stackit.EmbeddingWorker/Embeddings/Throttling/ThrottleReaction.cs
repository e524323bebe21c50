namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The pace of one rate budget: <c>Fleet:TargetUtilization</c> times the reaction to 429s. Each 429 (at most one every
/// <see cref="CutSpacing"/>: a burst of them is one signal) lowers the reaction to <see cref="Cut"/> of itself at once,
/// not below <see cref="MinimumReaction"/>; it wins back <see cref="RecoveryPerSecond"/> a second without one. Thread-safe.
/// </summary>
internal sealed class ThrottleReaction(double targetUtilization, TimeProvider time)
{
    /// <summary>The reaction to a 429: the pace falls to this fraction of what it was.</summary>
    internal const double Cut = 0.8;

    /// <summary>429s closer together than this are one signal (the same burst): one cut.</summary>
    internal static readonly TimeSpan CutSpacing = TimeSpan.FromSeconds(2);

    /// <summary>The reaction never goes below this fraction of the target.</summary>
    internal const double MinimumReaction = 0.5;

    /// <summary>What the reaction wins back each second without a 429 (a cut of a fifth is won back in 80 s).</summary>
    internal const double RecoveryPerSecond = 0.0025;

    /// <summary>While recovering, the pace is brought up to date this often.</summary>
    private static readonly TimeSpan RecoveryStep = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly double _target = Math.Clamp(targetUtilization, 0.1, 1);
    private double _reaction = 1.0;
    private double _reactionAtCut = 1.0;
    private long _lastCut = time.GetTimestamp();
    private long _lastUpdate = time.GetTimestamp();

    /// <summary>The fraction of the share to send at now.</summary>
    public double Pace
    {
        get
        {
            lock (_gate)
            {
                return _target * _reaction;
            }
        }
    }

    /// <summary>A 429: true when the pace was cut (the caller applies it), false when it belongs to the last cut's burst.</summary>
    public bool Throttled()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            Recover(now);
            if (_reaction < 1 && time.GetElapsedTime(_lastCut, now) < CutSpacing)
            {
                return false;
            }
            _reaction = Math.Max(MinimumReaction, _reaction * Cut);
            _reactionAtCut = _reaction;
            _lastCut = now;
            return true;
        }
    }

    /// <summary>True when the pace rose since it was last brought up to date (at most once a <see cref="RecoveryStep"/>).</summary>
    public bool Recovered()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_reaction >= 1 || time.GetElapsedTime(_lastUpdate, now) < RecoveryStep)
            {
                return false;
            }
            Recover(now);
            return true;
        }
    }

    /// <summary>Wins back what the time since the last cut earned (callers hold the gate).</summary>
    private void Recover(long now)
    {
        if (_reaction < 1)
        {
            _reaction = Math.Min(1, _reactionAtCut + (RecoveryPerSecond * time.GetElapsedTime(_lastCut, now).TotalSeconds));
        }
        _lastUpdate = now;
    }
}
