using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tokens;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Embeddings;

internal static class EmbeddingsRegistration
{
    /// <summary>
    /// The embeddings stage and its client: admission (concurrency and the rate budget, which the wiring sizes from the
    /// batching options), then the HTTP client with its handlers, outermost first — the resilience pipeline (retries,
    /// attempt timeout), the endpoint's feedback to the adaptive limit on every attempt, and each attempt's own reading
    /// of its answer.
    /// </summary>
    public static IServiceCollection AddEmbeddings(this IServiceCollection services)
    {
        services.AddSingleton<EncodingNegotiation>();
        services.AddSingleton(sp => new AdaptiveConcurrencyLimit(sp.GetRequiredService<EmbeddingsOptions>().MaxConcurrency, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<EndpointAdmission>();
        var client = services.AddHttpClient<IEmbeddingClient, OpenAiEmbeddingClient>((sp, http) =>
        {
            var options = sp.GetRequiredService<EmbeddingsOptions>();
            // Attempt and retry timing belong to the resilience handler, not to HttpClient.Timeout.
            http.Timeout = Timeout.InfiniteTimeSpan;
            http.DefaultRequestHeaders.Authorization = new("Bearer", options.ApiKey);
        });
        client.AddResilienceHandler("embeddings", (pipeline, context) => pipeline.AddAttempts(context.ServiceProvider.GetRequiredService<EmbeddingsOptions>()));
        client.AddHttpMessageHandler(sp => new EndpointFeedbackHandler(sp.GetRequiredService<AdaptiveConcurrencyLimit>(), sp.GetRequiredService<WorkerMetrics>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<RateBudgets>()));
        client.AddHttpMessageHandler(() => new ResponseBufferingHandler());
        services.AddHostedService(sp =>
        {
            var channels = sp.GetRequiredService<PipelineChannels>();
            return new EmbeddingsService(
                channels.Batches.Reader, channels.Embedded.Writer, channels.Rechunks.Writer,
                sp.GetRequiredService<IEmbeddingClient>(), sp.GetRequiredService<EndpointAdmission>(), sp.GetRequiredService<EmbeddingsOptions>(),
                sp.GetRequiredService<TokenCalibration>(), sp.GetRequiredService<PipelineContext>(), sp.GetRequiredService<ILogger<EmbeddingsService>>(),
                channels.CopyBatches.Reader);
        });
        return services;
    }
}
