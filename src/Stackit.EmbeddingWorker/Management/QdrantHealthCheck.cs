using Grpc.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Qdrant.Client;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>Ready only if Qdrant answers its health call.</summary>
internal sealed class QdrantHealthCheck(QdrantClient qdrant) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var reply = await qdrant.HealthAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Qdrant {reply.Version} answers");
        }
        catch (RpcException ex)
        {
            // The status only: the detail names hosts and ports.
            return HealthCheckResult.Unhealthy($"Qdrant does not answer ({ex.Status.StatusCode})", ex);
        }
    }
}
