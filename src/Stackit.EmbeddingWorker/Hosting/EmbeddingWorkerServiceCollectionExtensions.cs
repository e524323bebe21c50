using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Microsoft.Extensions.Hosting;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Embeddings.Transport;
using Stackit.EmbeddingWorker.Health;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Leasing;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Hosting;

public static class EmbeddingWorkerServiceCollectionExtensions
{
    /// <summary>Registers the whole pipeline, its options (validated on start) and its clients.</summary>
    public static IServiceCollection AddEmbeddingWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<QueueOptions>(configuration, QueueOptions.SectionName);
        services.AddValidatedOptions<BlobOptions>(configuration, BlobOptions.SectionName);
        services.AddValidatedOptions<BackfillOptions>(configuration, BackfillOptions.SectionName);
        services.AddValidatedOptions<EmbeddingsOptions>(configuration, EmbeddingsOptions.SectionName);
        services.AddValidatedOptions<BatchingOptions>(configuration, BatchingOptions.SectionName);
        services.AddValidatedOptions<ChunkingOptions>(configuration, ChunkingOptions.SectionName);
        services.AddValidatedOptions<QdrantOptions>(configuration, QdrantOptions.SectionName);
        services.AddValidatedOptions<CircuitOptions>(configuration, CircuitOptions.SectionName);
        services.AddValidatedOptions<ManagementOptions>(configuration, ManagementOptions.SectionName);
        // HostOptions:ShutdownTimeout bounds draining at SIGTERM (see PipelineShutdown).
        services.Configure<HostOptions>(configuration.GetSection("HostOptions"));
        services.AddSingleton<IValidateOptions<ChunkingOptions>, ChunkLimitsValidator>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<PipelineChannels>();
        services.AddSingleton<PipelineShutdown>();
        services.AddSingleton<DependencyCircuits>();
        services.AddSingleton<LeaseRegistry>();
        services.AddMetrics();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton(sp => new OutcomeReporter(sp.GetRequiredService<PipelineChannels>().Outcomes.Writer));

        AddIntake(services);
        AddPreparation(services);
        AddEmbeddings(services);
        AddVectorStore(services);
        services.AddSingleton<MessageSettler>();
        services.AddSingleton<BackfillCapture>();
        services.AddSingleton<BackfillCopier>();

        // Started in this order, stopped in reverse: Intake stops first, each later stage drains what the one
        // before it left, Acknowledgement settles the last outcomes, and the lease keeper, stopped last, renews
        // leases throughout and finally hands back whatever is unfinished.
        services.AddHostedService<LeaseKeeper>();
        services.AddHostedService<PipelineGauges>();
        services.AddHostedService(sp => Stage<AcknowledgementService>(sp, sp.GetRequiredService<PipelineChannels>().Outcomes.Reader));
        services.AddHostedService(sp => Stage<VectorStoreService>(sp, Channels(sp).Embedded.Reader, Channels(sp).Deletions.Reader));
        services.AddHostedService(sp => Stage<EmbeddingsService>(sp, Channels(sp).Batches.Reader, Channels(sp).Embedded.Writer));
        services.AddHostedService(sp => Stage<BatchingService>(sp, Channels(sp).Chunks.Reader, Channels(sp).Batches.Writer));
        services.AddHostedService(sp => Stage<PreparationService>(sp, Channels(sp).Jobs.Reader, Channels(sp).Chunks.Writer, Channels(sp).Deletions.Writer, Channels(sp).Embedded.Writer));
        services.AddHostedService(sp => Stage<IntakeService>(sp, Channels(sp).Jobs.Writer));
        services.AddHostedService<BackfillService>();
        return services;
    }

    private static void AddIntake(IServiceCollection services)
    {
        services.AddSingleton(sp => QueueClientFactory.Create(sp.GetRequiredService<QueueOptions>()));
        services.AddSingleton<WorkQueues>();
        services.AddSingleton<LiveActivity>();
        services.AddSingleton(sp => ClaimCheckStore.Create(sp.GetRequiredService<BlobOptions>(), sp.GetRequiredService<QueueOptions>()));
        services.AddSingleton(sp => new InFlightLimiter(sp.GetRequiredService<QueueOptions>().MaxInFlightMessages));
        services.AddSingleton(sp => JobMessageParser.For(sp.GetRequiredService<QdrantOptions>()));
    }

    private static void AddPreparation(IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<EmbeddingsOptions>();
            return new TokenCalibration(options.Model, options.TokenEstimateMargin);
        });
        services.AddSingleton<ITokenEstimator>(sp =>
            sp.GetRequiredService<EmbeddingsOptions>().TokenizerFile is { Length: > 0 } tokenizerFile
                ? TokenizerTokenEstimator.Load(tokenizerFile)
                : new CalibratedTokenEstimator(sp.GetRequiredService<TokenCalibration>()));
        services.AddSingleton<TextChunker>();
        services.AddSingleton<JobChunker>();
        services.AddSingleton<StoredState>();
    }

    private static void AddEmbeddings(IServiceCollection services)
    {
        services.AddSingleton<EncodingNegotiation>();
        services.AddSingleton(sp => new AdaptiveConcurrencyLimit(sp.GetRequiredService<EmbeddingsOptions>().MaxConcurrency, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<EmbeddingsOptions>();
            return new EndpointRateBudget(options.TokensPerMinute, options.RequestsPerMinute,
                sp.GetRequiredService<BatchingOptions>().MaxTokensPerRequest, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<EndpointAdmission>();
        var client = services.AddHttpClient<IEmbeddingClient, OpenAiEmbeddingClient>((sp, http) =>
        {
            var options = sp.GetRequiredService<EmbeddingsOptions>();
            // Attempt and retry timing belong to the resilience handler, not to HttpClient.Timeout.
            http.Timeout = Timeout.InfiniteTimeSpan;
            http.DefaultRequestHeaders.Authorization = new("Bearer", options.ApiKey);
        });
        client.AddResilienceHandler("embeddings", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<EmbeddingsOptions>();
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                // Retries 408, 429, 5xx, connection failures and attempt timeouts; honours Retry-After.
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromMinutes(2),
                ShouldRetryAfterHeader = true,
            });
            pipeline.AddTimeout(options.Timeout);
        });
        // Inside the retries: every attempt tells the adaptive limit how the endpoint is coping.
        client.AddHttpMessageHandler(sp => new EndpointFeedbackHandler(sp.GetRequiredService<AdaptiveConcurrencyLimit>(), sp.GetRequiredService<WorkerMetrics>(), sp.GetRequiredService<TimeProvider>()));
        // Innermost: each attempt reads its answer's body itself, under the attempt's timeout and retries.
        client.AddHttpMessageHandler(() => new ResponseBufferingHandler());
    }

    private static void AddVectorStore(IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<QdrantOptions>();
            // No logger factory: the client logs every failed call as an error with its stack, expected ones too (a read
            // in a collection not created yet answers NotFound). The worker logs the failures that matter itself.
            return new QdrantClient(options.Endpoint, options.ApiKey, TimeSpan.FromSeconds(30));
        });
        services.AddSingleton<CollectionProvisioner>();
        services.AddSingleton<PointFactory>();
        services.AddSingleton(sp =>
        {
            var retry = new ResiliencePipelineBuilder { TimeProvider = sp.GetRequiredService<TimeProvider>() }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(QdrantErrors.IsTransient),
                    MaxRetryAttempts = 4,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                })
                .Build();
            return new QdrantCalls(retry);
        });
        services.AddSingleton<QdrantPointWriter>();
        services.AddSingleton<QdrantPointReader>();
    }

    private static PipelineChannels Channels(IServiceProvider services) => services.GetRequiredService<PipelineChannels>();

    private static T Stage<T>(IServiceProvider services, params object[] channelEnds) => ActivatorUtilities.CreateInstance<T>(services, channelEnds);
}
