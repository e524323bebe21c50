namespace Stackit.EmbeddingWorker.Tokens;

/// <summary>Estimates how many tokens the endpoint will count for a text. Must never undercount by much.</summary>
internal interface ITokenEstimator
{
    int Estimate(ReadOnlySpan<char> text);

    /// <summary>
    /// How far one text's real count can be above its estimate (a fraction): chunks are cut this much short of their
    /// limit. None for exact counts.
    /// </summary>
    double Headroom => 0;
}
