using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Preparation;

internal static class PreparationRegistration
{
    /// <summary>The preparation stage and its chunker (which counts with the token estimator the wiring chose).</summary>
    public static IServiceCollection AddPreparation(this IServiceCollection services)
    {
        services.AddSingleton<TextChunker>();
        services.AddSingleton<JobChunker>();
        services.AddHostedService(sp =>
        {
            var channels = sp.GetRequiredService<PipelineChannels>();
            return new PreparationService(
                channels.Jobs.Reader, channels.Rechunks, channels.Resumed, new ChunkLanes(channels.Chunks.Writer, channels.CopyChunks.Writer), channels.Deletions.Writer, channels.Embedded.Writer,
                sp.GetRequiredService<JobChunker>(), sp.GetRequiredService<IStoredDocuments>(), sp.GetRequiredService<PipelineContext>(),
                sp.GetRequiredService<ILogger<PreparationService>>());
        });
        return services;
    }
}
