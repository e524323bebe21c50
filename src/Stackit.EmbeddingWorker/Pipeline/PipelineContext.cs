using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// What every stage shares, passed as one: how a job ends (the lifecycle), the dependencies' circuits, how the
/// pipeline stops, the metrics and the clock. A stage's constructor takes its channel ends, its own clients and this.
/// </summary>
internal sealed class PipelineContext(JobLifecycle lifecycle, DependencyCircuits circuits, PipelineShutdown shutdown, WorkerMetrics metrics, TimeProvider time, ProgressWatch? progress = null)
{
    public JobLifecycle Lifecycle { get; } = lifecycle;

    public DependencyCircuits Circuits { get; } = circuits;

    public PipelineShutdown Shutdown { get; } = shutdown;

    public WorkerMetrics Metrics { get; } = metrics;

    public TimeProvider Time { get; } = time;

    /// <summary>When the pipeline last moved (liveness).</summary>
    public ProgressWatch Progress { get; } = progress ?? new ProgressWatch(time);

    /// <summary>
    /// The dependency-failure policy, in one place: the dependency's circuit hears of the failure, and each job is
    /// reported as the failure is at that moment — <see cref="JobLifecycle.Unavailable(DocumentJob, string)"/> when the circuit is open
    /// (an outage: no attempt counts), else <see cref="JobLifecycle.Failed(DocumentJob, string)"/> — never rejected: the job is not at fault.
    /// </summary>
    public void DependencyFailed(DependencyCircuit circuit, IEnumerable<DocumentJob> jobs, Exception exception)
    {
        var (reason, down) = Failure(circuit, exception);
        foreach (var job in jobs)
        {
            if (down)
            {
                Lifecycle.Unavailable(job, reason);
            }
            else
            {
                Lifecycle.Failed(job, reason);
            }
        }
    }

    /// <summary>The same policy for a message that has no job yet (a backfill page whose source could not be read).</summary>
    public void DependencyFailed(DependencyCircuit circuit, QueueLease lease, Exception exception)
    {
        var (reason, down) = Failure(circuit, exception);
        if (down)
        {
            Lifecycle.Unavailable(lease, reason);
        }
        else
        {
            Lifecycle.Failed(lease, reason);
        }
    }

    private (string Reason, bool Down) Failure(DependencyCircuit circuit, Exception exception)
    {
        circuit.Failure(exception.Message);
        return ($"{circuit.Dependency} unavailable: {exception.Message}", Circuits.AnyOpen);
    }
}
