using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Batching;

internal static class BatchingRegistration
{
    /// <summary>
    /// The batching stage: chunks packed into requests by inputs and tokens, once for the live lane and once for the copy
    /// lane (<see cref="ChunkLanes"/>). Registered as two services of one type, so not with AddHostedService, which
    /// keeps only the first.
    /// </summary>
    public static IServiceCollection AddBatching(this IServiceCollection services) =>
        services
            .AddSingleton<IHostedService>(sp => new BatchingService(
                sp.GetRequiredService<PipelineChannels>().Chunks.Reader, sp.GetRequiredService<PipelineChannels>().Batches.Writer,
                sp.GetRequiredService<BatchingOptions>(), sp.GetRequiredService<PipelineContext>()))
            .AddSingleton<IHostedService>(sp => new BatchingService(
                sp.GetRequiredService<PipelineChannels>().CopyChunks.Reader, sp.GetRequiredService<PipelineChannels>().CopyBatches.Writer,
                sp.GetRequiredService<BatchingOptions>(), sp.GetRequiredService<PipelineContext>()));
}
