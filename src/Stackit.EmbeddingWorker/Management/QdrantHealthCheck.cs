using Grpc.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Qdrant.Client;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// Ready only if Qdrant answers its health call and is a release the worker writes to (<see cref="QdrantVersionGate"/>):
/// a server too old to keep the order of writes, or one that does not say its version, is named with the reason.
/// </summary>
internal sealed class QdrantHealthCheck(QdrantClient qdrant, QdrantOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var version = await QdrantVersionGate.CheckAsync(qdrant, options, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Qdrant {version} answers");
        }
        catch (QdrantUnsupportedException ex)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
        catch (RpcException ex)
        {
            // The status only: the detail names hosts and ports.
            return HealthCheckResult.Unhealthy($"Qdrant does not answer ({ex.Status.StatusCode})", ex);
        }
    }
}
