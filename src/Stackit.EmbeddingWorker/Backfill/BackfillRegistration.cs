using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Backfill;

internal static class BackfillRegistration
{
    /// <summary>
    /// The backfill source beside Intake, and the capture that tells a running backfill of live changes. Which pages may
    /// be worked on (<see cref="PageAuthority"/>) is the wiring's: it needs Qdrant's collection routing.
    /// </summary>
    public static IServiceCollection AddBackfill(this IServiceCollection services)
    {
        services.AddSingleton<BackfillCapture>();
        services.AddSingleton<IDocumentChangeObserver>(sp => sp.GetRequiredService<BackfillCapture>());
        services.AddHostedService(sp => new BackfillService(
            sp.GetRequiredService<WorkQueues>(), sp.GetRequiredService<PipelineChannels>().Jobs.Writer, sp.GetRequiredService<IBackfillSource>(),
            sp.GetRequiredService<PageAuthority>(), sp.GetRequiredService<LeaseRegistry>(), sp.GetRequiredService<SettlementPolicy>(),
            sp.GetRequiredService<LiveActivity>(), sp.GetRequiredService<BackfillOptions>(), sp.GetRequiredService<QueueOptions>(),
            sp.GetRequiredService<PipelineContext>(), sp.GetRequiredService<ILogger<BackfillService>>()));
        return services;
    }
}
