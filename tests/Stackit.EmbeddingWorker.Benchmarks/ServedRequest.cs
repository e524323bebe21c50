namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// One request as the simulated endpoint saw it; times are Stopwatch timestamps. <see cref="Released"/> is when it
/// gave its slot back (before its answer was written); refused requests never held one and have it equal to
/// <see cref="Started"/>. <see cref="Model"/> is the model the request asked for (each has its own budget).
/// </summary>
internal sealed record ServedRequest(long Arrived, long Started, long Finished, int Inputs, int Tokens, int Status, long Released, string Model = "");
