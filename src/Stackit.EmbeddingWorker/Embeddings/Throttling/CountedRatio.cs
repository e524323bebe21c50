namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// What the endpoint counts per estimated token, for one model's budget: the highest ratio of counted to estimated
/// tokens in the last <see cref="Answers"/> answers (1 before the first). A request is charged its estimate times
/// this (<see cref="EndpointRateBudget"/>). The highest, so that when estimates fall closer to the count (chunks
/// estimated after the calibration learned the text) the charge follows at the next answer instead of running under
/// the count for a while, which a strict 60 s window would see as a burst. Thread-safe.
/// </summary>
internal sealed class CountedRatio
{
    /// <summary>How many recent answers the ratio is the highest of.</summary>
    internal const int Answers = 8;

    /// <summary>The range one answer's ratio is kept in, whatever it says.</summary>
    private const double Least = 0.2;

    private const double Most = 2.0;

    private readonly Lock _gate = new();
    private readonly double[] _ratios = new double[Answers];
    private int _answered;
    private double _highest = 1.0;

    /// <summary>What a request of <paramref name="estimatedTokens"/> is charged: what the endpoint is expected to count.</summary>
    public int Expected(int estimatedTokens)
    {
        lock (_gate)
        {
            return Math.Max(1, (int)Math.Ceiling(estimatedTokens * _highest));
        }
    }

    /// <summary>Keeps one answer's ratio of counted to estimated tokens among the last ones.</summary>
    public void Observe(int estimatedTokens, int countedTokens)
    {
        if (estimatedTokens <= 0 || countedTokens <= 0)
        {
            return;
        }
        var observed = Math.Clamp(countedTokens / (double)estimatedTokens, Least, Most);
        lock (_gate)
        {
            _ratios[_answered++ % Answers] = observed;
            var highest = 0.0;
            foreach (var ratio in _ratios.AsSpan(0, Math.Min(_answered, Answers)))
            {
                highest = Math.Max(highest, ratio);
            }
            _highest = highest;
        }
    }
}
