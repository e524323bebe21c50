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
            return new VectorStoreService(
                channels.Embedded.Reader, channels.Deletions.Reader, channels.Withdrawals.Reader,
                sp.GetRequiredService<QdrantPointWriter>(), sp.GetRequiredService<DocumentOrdering>(), sp.GetRequiredService<IDocumentChangeObserver>(),
                sp.GetRequiredService<QdrantOptions>(), sp.GetRequiredService<EmbeddingModels>(), sp.GetRequiredService<PipelineContext>(),
                sp.GetRequiredService<ILogger<VectorStoreService>>());
        });
        return services;
    }
}
