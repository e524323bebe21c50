namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>What one client achieved on one workload within the measurement window.</summary>
internal sealed record RunResult(
    string Scenario,
    string Client,
    double DocsPerSecond,
    double TokensPerSecond,
    double Ratio,
    double SlotsBusy,
    int Throttled,
    int Requests,
    double P50Milliseconds,
    double P95Milliseconds,
    double CpuSecondsPer10K,
    double JitShare,
    double PeakRssMiB,
    string Note);
