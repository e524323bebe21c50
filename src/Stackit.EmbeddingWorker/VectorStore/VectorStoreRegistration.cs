using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

internal static class VectorStoreRegistration
{
    /// <summary>
    /// The vector store stage, its Qdrant client (deadline and retries from <c>Qdrant:*</c>), the ordering rule, and the
    /// reads it serves the other stages through the core (stored state for Preparation, a backfill's source).
    /// </summary>
    public static IServiceCollection AddVectorStore(this IServiceCollection services)
    {
        services.AddSingleton(sp => QdrantClients.Create(sp.GetRequiredService<QdrantOptions>(), sp.GetRequiredService<QdrantOptions>().Timeout, sp.GetRequiredService<WorkerMetrics>()));
        services.AddSingleton(sp => QdrantCalls.Create(sp.GetRequiredService<QdrantOptions>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<CollectionProvisioner>();
        services.AddSingleton<PointFactory>();
        services.AddSingleton<TombstoneStore>();
        services.AddSingleton<QdrantPointWriter>();
        services.AddSingleton<DocumentOrdering>();
        services.AddSingleton<QdrantPointReader>();
        services.AddSingleton<SharedVectors>();
        services.AddSingleton<IStoredDocuments, StoredState>();
        services.AddSingleton<IBackfillSource, BackfillSourceReader>();
        services.AddHostedService(sp =>
        {
            var channels = sp.GetRequiredService<PipelineChannels>();
            var ordering = sp.GetRequiredService<DocumentOrdering>();
            var options = sp.GetRequiredService<QdrantOptions>();
            var models = sp.GetRequiredService<EmbeddingModels>();
            var context = sp.GetRequiredService<PipelineContext>();
            var logger = sp.GetRequiredService<ILogger<VectorStoreService>>();
            return new VectorStoreService(
                channels.Embedded.Reader, channels.Deletions.Reader, channels.Withdrawals.Reader,
                sp.GetRequiredService<QdrantPointWriter>(), ordering,
                new JobFinisher(ordering, sp.GetRequiredService<IDocumentChangeObserver>(), options, models, context, logger),
                options, models, context, logger);
        });
        return services;
    }
}
