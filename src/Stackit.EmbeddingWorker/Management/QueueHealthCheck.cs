using Azure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>
/// Ready only if the work queue answers (its properties, within the health check's timeout). Says which status it
/// answered, never the error's text (it names hosts and ports to whoever can reach the management port).
/// </summary>
internal sealed class QueueHealthCheck(WorkQueues queues) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await queues.Live.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("the work queue answers");
        }
        catch (RequestFailedException ex) when (ex.Status != 0)
        {
            return HealthCheckResult.Unhealthy($"the work queue answers {ex.Status} {ex.ErrorCode}", ex);
        }
        catch (Exception ex) when (QueueErrors.IsUnavailable(ex))
        {
            return HealthCheckResult.Unhealthy("the work queue does not answer (see the worker's log)", ex);
        }
    }
}
