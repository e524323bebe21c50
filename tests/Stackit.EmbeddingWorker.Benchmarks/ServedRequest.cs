namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>One request as the simulated endpoint saw it; times are Stopwatch timestamps.</summary>
internal sealed record ServedRequest(long Arrived, long Started, long Finished, int Inputs, int Tokens, int Status);
