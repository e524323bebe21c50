using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>Not ready while either dependency's circuit is open or probing: the replica is not making progress.</summary>
internal sealed class CircuitHealthCheck(DependencyCircuits circuits) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var open = new[] { circuits.Embeddings, circuits.VectorStore }.Where(c => c.State != CircuitState.Closed).ToList();
        return Task.FromResult(open.Count == 0
            ? HealthCheckResult.Healthy("both circuits closed")
            : HealthCheckResult.Unhealthy(string.Join("; ", open.Select(c => $"the {c.Dependency} circuit is {c.State.ToString().ToLowerInvariant()}"))));
    }
}
