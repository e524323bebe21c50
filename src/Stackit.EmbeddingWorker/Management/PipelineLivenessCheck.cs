using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// Liveness: unhealthy when messages are held and the pipeline has not moved (no call succeeded, no message was
/// settled) for longer than <c>Management:LivenessThreshold</c> while no dependency's circuit is open. A dependency
/// that is down is readiness' business (<c>/readyz</c>): restarting the worker would not bring it back.
/// </summary>
internal sealed class PipelineLivenessCheck(InFlightLimiter inFlight, DependencyCircuits circuits, ProgressWatch progress, ManagementOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var held = inFlight.InFlight;
        var still = progress.SinceMoved;
        var result = held > 0 && !circuits.AnyOpen && still > options.LivenessThreshold
            ? HealthCheckResult.Unhealthy($"{held} messages held and no progress for {still:hh\\:mm\\:ss} (Management:LivenessThreshold is {options.LivenessThreshold})")
            : HealthCheckResult.Healthy(held == 0 ? "idle" : circuits.AnyOpen ? "waiting for a dependency" : "moving");
        return Task.FromResult(result);
    }
}
