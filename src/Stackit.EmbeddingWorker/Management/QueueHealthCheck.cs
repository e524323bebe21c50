using Azure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Management;

/// <summary>Ready only if the work queue answers (its properties, within the health check's timeout).</summary>
internal sealed class QueueHealthCheck(WorkQueues queues) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await queues.Live.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("the work queue answers");
        }
        catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
        {
            return HealthCheckResult.Unhealthy($"the work queue does not answer: {ex.Message.Split('\n')[0]}");
        }
    }
}
