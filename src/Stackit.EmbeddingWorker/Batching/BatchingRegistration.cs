using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Batching;

internal static class BatchingRegistration
{
    /// <summary>The batching stage: chunks packed into requests by inputs and tokens.</summary>
    public static IServiceCollection AddBatching(this IServiceCollection services) =>
        services.AddHostedService(sp => new BatchingService(
            sp.GetRequiredService<PipelineChannels>().Chunks.Reader, sp.GetRequiredService<PipelineChannels>().Batches.Writer,
            sp.GetRequiredService<BatchingOptions>(), sp.GetRequiredService<PipelineContext>()));
}
