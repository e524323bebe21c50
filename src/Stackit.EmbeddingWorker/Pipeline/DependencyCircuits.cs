namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>The circuits of the worker's two dependencies; Intake receives only while both admit it.</summary>
internal sealed class DependencyCircuits(CircuitOptions options, TimeProvider time, ILoggerFactory loggers, ProgressWatch? progress = null)
{
    public DependencyCircuit Embeddings { get; } = new("embeddings endpoint", options, time, loggers.CreateLogger<DependencyCircuit>(), progress);

    public DependencyCircuit VectorStore { get; } = new("Qdrant", options, time, loggers.CreateLogger<DependencyCircuit>(), progress);

    public bool AnyOpen => Embeddings.State != CircuitState.Closed || VectorStore.State != CircuitState.Closed;

    /// <summary>Admits a receive when both circuits do; a probe (one message) when either is probing.</summary>
    public bool TryAdmit(out bool probe, out TimeSpan retryIn)
    {
        // Ask the embeddings circuit first: a job must pass it before it can probe Qdrant.
        foreach (var circuit in (ReadOnlySpan<DependencyCircuit>)[Embeddings, VectorStore])
        {
            if (circuit.State != CircuitState.Closed)
            {
                return circuit.TryAdmit(out probe, out retryIn);
            }
        }
        probe = false;
        retryIn = TimeSpan.Zero;
        return true;
    }
}
