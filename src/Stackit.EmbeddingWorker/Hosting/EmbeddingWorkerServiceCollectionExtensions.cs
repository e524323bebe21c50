using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Diagnostics;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Management;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Transport;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Hosting;

public static class EmbeddingWorkerServiceCollectionExtensions
{
    /// <summary>Registers the whole pipeline, its options (validated on start) and its clients.</summary>
    public static IServiceCollection AddEmbeddingWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<QueueOptions, QueueOptionsValidator>(configuration, QueueOptions.SectionName);
        services.AddBoundOptions<AzureOptions>(configuration, AzureOptions.SectionName);
        services.AddValidatedOptions<BlobOptions, BlobOptionsValidator>(configuration, BlobOptions.SectionName);
        services.AddValidatedOptions<BackfillOptions, BackfillOptionsValidator>(configuration, BackfillOptions.SectionName);
        services.AddValidatedOptions<EmbeddingsOptions, EmbeddingsOptionsValidator>(configuration, EmbeddingsOptions.SectionName);
        services.AddValidatedOptions<BatchingOptions, BatchingOptionsValidator>(configuration, BatchingOptions.SectionName);
        services.AddValidatedOptions<ChunkingOptions, ChunkingOptionsValidator>(configuration, ChunkingOptions.SectionName);
        services.AddValidatedOptions<QdrantOptions, QdrantOptionsValidator>(configuration, QdrantOptions.SectionName);
        services.AddValidatedOptions<CircuitOptions, CircuitOptionsValidator>(configuration, CircuitOptions.SectionName);
        services.AddValidatedOptions<ManagementOptions, ManagementOptionsValidator>(configuration, ManagementOptions.SectionName);
        services.AddValidatedOptions<FleetOptions, FleetOptionsValidator>(configuration, FleetOptions.SectionName);
        // HostOptions:ShutdownTimeout bounds draining at SIGTERM (see PipelineShutdown).
        services.Configure<HostOptions>(configuration.GetSection("HostOptions"));
        services.AddSingleton<IValidateOptions<ChunkingOptions>, ChunkLimitsValidator>();
        services.AddSingleton<IValidateOptions<BackfillOptions>, BackfillQueueValidator>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PipelineChannels(Capacities(sp)));
        services.AddSingleton<PipelineShutdown>();
        services.AddSingleton<ProgressWatch>();
        services.AddSingleton<DependencyCircuits>();
        services.AddSingleton<LeaseRegistry>();
        services.AddMetrics();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton(sp => new DocumentSequencer(Channels(sp).Resumed.Writer, Get<TimeProvider>(sp)));
        services.AddSingleton(sp => new JobLifecycle(Channels(sp).Outcomes.Writer, Get<DocumentSequencer>(sp), Channels(sp).Withdrawals.Writer));
        services.AddSingleton<PipelineContext>();
        services.AddSingleton(sp => sp.GetRequiredService<EmbeddingsOptions>().Models);
        services.AddSingleton<MessageSettler>();
        services.AddSingleton<SettlementPolicy>();

        AddIntake(services);
        AddPreparation(services);
        AddEmbeddings(services);
        AddVectorStore(services);
        services.AddSingleton<BackfillCapture>();
        services.AddSingleton(sp => new PageAuthority(Get<QdrantClient>(sp), Get<QdrantOptions>(sp).Routing, Get<BackfillOptions>(sp)));
        services.AddSingleton<IDocumentChangeObserver>(sp => sp.GetRequiredService<BackfillCapture>());
        services.AddSingleton<IBackfillSource, BackfillSourceReader>();

        // Started in this order, stopped in reverse: Intake stops first, each later stage drains what the one
        // before it left, Acknowledgement settles the last outcomes, and the lease keeper, stopped last, renews
        // leases throughout and finally hands back whatever is unfinished.
        services.AddHostedService<ClearTextKeyWarnings>();
        services.AddHostedService<LeaseKeeper>();
        // Stopped after the stages have drained: the replica's share of the budget is given back last.
        AddFleetBudget(services, configuration);
        services.AddHostedService<PipelineGauges>();
        services.AddHostedService(sp => new AcknowledgementService(
            Channels(sp).Outcomes.Reader, Get<SettlementPolicy>(sp), Get<PipelineContext>(sp), Get<ILogger<AcknowledgementService>>(sp)));
        services.AddHostedService(sp => new VectorStoreService(
            Channels(sp).Embedded.Reader, Channels(sp).Deletions.Reader, Channels(sp).Withdrawals.Reader,
            Get<QdrantPointWriter>(sp), Get<DocumentOrdering>(sp), Get<IDocumentChangeObserver>(sp), Get<QdrantOptions>(sp), Get<EmbeddingModels>(sp), Get<PipelineContext>(sp), Get<ILogger<VectorStoreService>>(sp)));
        services.AddHostedService(sp => new EmbeddingsService(
            Channels(sp).Batches.Reader, Channels(sp).Embedded.Writer, Channels(sp).Rechunks.Writer,
            Get<IEmbeddingClient>(sp), Get<EndpointAdmission>(sp), Get<EmbeddingsOptions>(sp), Get<TokenCalibration>(sp), Get<PipelineContext>(sp), Get<ILogger<EmbeddingsService>>(sp)));
        services.AddHostedService(sp => new BatchingService(
            Channels(sp).Chunks.Reader, Channels(sp).Batches.Writer, Get<BatchingOptions>(sp), Get<PipelineContext>(sp)));
        services.AddHostedService(sp => new PreparationService(
            Channels(sp).Jobs.Reader, Channels(sp).Rechunks, Channels(sp).Resumed, Channels(sp).Chunks.Writer, Channels(sp).Deletions.Writer, Channels(sp).Embedded.Writer,
            Get<JobChunker>(sp), Get<IStoredDocuments>(sp), Get<PipelineContext>(sp), Get<ILogger<PreparationService>>(sp)));
        services.AddHostedService(sp => new IntakeService(
            Get<WorkQueues>(sp), Get<JobMessageParser>(sp), Get<ClaimCheckStore>(sp), Get<InFlightLimiter>(sp), Get<LiveActivity>(sp),
            Channels(sp).Jobs.Writer, Get<LeaseRegistry>(sp), Get<SettlementPolicy>(sp), Get<QueueOptions>(sp), Get<PipelineContext>(sp), Get<ILogger<IntakeService>>(sp)));
        services.AddHostedService(sp => new BackfillService(
            Get<WorkQueues>(sp), Channels(sp).Jobs.Writer, Get<IBackfillSource>(sp), Get<PageAuthority>(sp), Get<LeaseRegistry>(sp), Get<SettlementPolicy>(sp), Get<LiveActivity>(sp),
            Get<BackfillOptions>(sp), Get<QueueOptions>(sp), Get<PipelineContext>(sp), Get<ILogger<BackfillService>>(sp)));
        return services;
    }

    /// <summary>Each channel's capacity, from the options of the stages on either side of it.</summary>
    private static ChannelCapacities Capacities(IServiceProvider services)
    {
        var queue = Get<QueueOptions>(services);
        var batching = Get<BatchingOptions>(services);
        var qdrant = Get<QdrantOptions>(services);
        var backfill = Get<BackfillOptions>(services);
        return new ChannelCapacities(
            // Live messages, and the copy jobs of the backfill pages in work (one job per document).
            InFlightMessages: queue.MaxInFlightMessages + (backfill.Enabled ? backfill.ConcurrentPages * backfill.PageSize : 0),
            Jobs: ChannelCapacities.DefaultJobs,
            Chunks: Math.Max(256, batching.MaxInputsPerRequest * 2),
            Batches: Get<EmbeddingsOptions>(services).MaxConcurrency,
            Embedded: qdrant.UpsertBatchSize * qdrant.MaxConcurrentUpserts);
    }

    private static void AddIntake(IServiceCollection services)
    {
        services.AddSingleton(sp => QueueClientFactory.Create(sp.GetRequiredService<QueueOptions>(), sp.GetRequiredService<AzureOptions>()));
        services.AddSingleton<WorkQueues>();
        services.AddSingleton<LiveActivity>();
        services.AddSingleton(sp => ClaimCheckStore.Create(sp.GetRequiredService<BlobOptions>(), sp.GetRequiredService<QueueOptions>(), sp.GetRequiredService<AzureOptions>(), Get<ByteBudget>(sp)));
        services.AddSingleton(sp => new InFlightLimiter(sp.GetRequiredService<QueueOptions>().MaxInFlightMessages));
        services.AddSingleton(sp => new ByteBudget(sp.GetRequiredService<BlobOptions>().MaxInFlightBytes));
        services.AddSingleton(sp => JobMessageParser.For(sp.GetRequiredService<QdrantOptions>().Routing, sp.GetRequiredService<QdrantOptions>().MaxMetadataBytes));
    }

    private static void AddPreparation(IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<EmbeddingsOptions>();
            return new TokenCalibration(options.TokenEstimateMargin);
        });
        services.AddSingleton<ITokenEstimator>(sp =>
            sp.GetRequiredService<EmbeddingsOptions>().TokenizerFile is { Length: > 0 } tokenizerFile
                ? TokenizerTokenEstimator.Load(tokenizerFile)
                : new CalibratedTokenEstimator(sp.GetRequiredService<TokenCalibration>()));
        services.AddSingleton<TextChunker>();
        services.AddSingleton<JobChunker>();
        services.AddSingleton<IStoredDocuments, StoredState>();
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
        client.AddResilienceHandler("embeddings", (pipeline, context) => pipeline.AddAttempts(context.ServiceProvider.GetRequiredService<EmbeddingsOptions>()));
        // Inside the retries: every attempt tells the adaptive limit how the endpoint is coping.
        client.AddHttpMessageHandler(sp => new EndpointFeedbackHandler(sp.GetRequiredService<AdaptiveConcurrencyLimit>(), sp.GetRequiredService<WorkerMetrics>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<EndpointRateBudget>()));
        // Innermost: each attempt reads its answer's body itself, under the attempt's timeout and retries.
        client.AddHttpMessageHandler(() => new ResponseBufferingHandler());
    }

    /// <summary>
    /// With a rate budget and <c>Fleet:Coordination=Storage</c>, the replicas share it through a ledger in the
    /// claim-check container.
    /// </summary>
    private static void AddFleetBudget(IServiceCollection services, IConfiguration configuration)
    {
        // Decided from the raw settings, not by binding here: a value that does not bind is reported with every other
        // configuration error when the host is built (ConfigurationCheck), not thrown from registration.
        var coordination = configuration[$"{FleetOptions.SectionName}:{nameof(FleetOptions.Coordination)}"];
        var shared = string.IsNullOrEmpty(coordination) ? new FleetOptions().Coordination == FleetCoordination.Storage
            : Enum.TryParse<FleetCoordination>(coordination, ignoreCase: true, out var parsed) && parsed == FleetCoordination.Storage;
        var budgeted = !string.IsNullOrEmpty(configuration[$"{EmbeddingsOptions.SectionName}:{nameof(EmbeddingsOptions.TokensPerMinute)}"])
                       || !string.IsNullOrEmpty(configuration[$"{EmbeddingsOptions.SectionName}:{nameof(EmbeddingsOptions.RequestsPerMinute)}"]);
        if (!shared || !budgeted)
        {
            return;
        }
        services.AddSingleton<IFleetLedger>(sp => new BlobFleetLedger(
            new Lazy<BlobContainerClient>(() => Get<ClaimCheckStore>(sp).Container), Get<EmbeddingsOptions>(sp).Model));
        services.AddSingleton(sp => new FleetBudgetService(
            Get<IFleetLedger>(sp), Get<EndpointRateBudget>(sp), Get<FleetOptions>(sp), Get<TimeProvider>(sp), Get<ILogger<FleetBudgetService>>(sp)));
        services.AddHostedService(sp => sp.GetRequiredService<FleetBudgetService>());
    }

    private static void AddVectorStore(IServiceCollection services)
    {
        services.AddSingleton(sp => QdrantClients.Create(sp.GetRequiredService<QdrantOptions>(), sp.GetRequiredService<QdrantOptions>().Timeout));
        services.AddSingleton<CollectionProvisioner>();
        services.AddSingleton<PointFactory>();
        services.AddSingleton(sp => QdrantCalls.Create(sp.GetRequiredService<QdrantOptions>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<TombstoneStore>();
        services.AddSingleton<QdrantPointWriter>();
        services.AddSingleton<DocumentOrdering>();
        services.AddSingleton<QdrantPointReader>();
    }

    private static PipelineChannels Channels(IServiceProvider services) => services.GetRequiredService<PipelineChannels>();

    private static T Get<T>(IServiceProvider services)
        where T : notnull => services.GetRequiredService<T>();
}
