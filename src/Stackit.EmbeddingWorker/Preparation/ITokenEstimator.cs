namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>Estimates how many tokens the endpoint will count for a text. Must never undercount by much.</summary>
internal interface ITokenEstimator
{
    int Estimate(ReadOnlySpan<char> text);
}
