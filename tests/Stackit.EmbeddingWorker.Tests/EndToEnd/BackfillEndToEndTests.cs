using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The <c>backfill</c> command with a running worker (Azurite, the loopback endpoint, the Qdrant STAND-IN): the
/// collection behind the alias is re-embedded into a new one through the backfill queue, live changes made
/// meanwhile end up in it, the alias is switched atomically, and a second run resumes without embedding twice.
/// </summary>
public sealed class BackfillEndToEndTests(AzuriteFixture azurite)
{
    private const string Alias = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backfill_copies_every_document_with_the_live_changes_made_meanwhile_and_switches_the_alias()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(24);
        var inputsBefore = run.InputsEmbedded;

        var (copied, copyOutput) = await run.BackfillAsync("--no-switch");
        Assert.True(copied == 0, copyOutput);
        Assert.True(run.InputsEmbedded > inputsBefore, "the backfill re-embeds the stored texts");
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));

        // Live changes while the backfill runs (its marker alias is there): an update, a delete, a new document.
        // The worker writes them through the alias into the old collection and records them for the backfill.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-03", text = "Changed while the backfill ran: the pump now needs a new impeller." }));
        await run.SendAsync("""{"id":"doc-05","op":"delete"}""");
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-new", text = "A document published while the backfill ran." }));
        await run.WaitUntilSettledAsync();
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        Assert.Contains(run.Texts("documents_v2").Values, text => text.Contains("new impeller", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-05");
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-new");

        var (code, output) = await run.BackfillAsync();

        Assert.True(code == 0, output);
        Assert.Contains("Switched documents to documents_v2 (was documents_v1, now also documents_previous)", output, StringComparison.Ordinal);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases["documents_previous"]);
        Assert.DoesNotContain("documents_next", run.Qdrant.Store.Aliases.Keys);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
        Assert.All(run.Qdrant.Store.Points("documents_v2"), p => Assert.Equal(FakeEmbeddingServer.VectorFor(p.Payload[PayloadFields.Text].StringValue, 8), p.Vector));

        // After the switch, live jobs write through the alias into the new collection.
        await run.SendAsync(JsonSerializer.Serialize(new { id = "doc-after", text = "Written after the switch." }));
        await run.WaitUntilSettledAsync();
        Assert.Contains(run.Qdrant.Store.Points("documents_v2"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
        Assert.DoesNotContain(run.Qdrant.Store.Points("documents_v1"), p => p.Payload[PayloadFields.DocumentId].StringValue == "doc-after");
    }

    [Fact]
    public async Task A_second_run_resumes_the_backfill_that_runs_and_embeds_nothing_twice()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.SeedAsync(12);

        var (first, firstOutput) = await run.BackfillAsync("--no-switch");
        Assert.True(first == 0, firstOutput);
        Assert.Equal("documents_v1", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases["documents_next"]);
        var inputsAfterCopy = run.InputsEmbedded;
        var (_, status) = await run.CliAsync("status");
        Assert.Contains("collection documents → documents_v1:", status, StringComparison.Ordinal);
        Assert.Contains("backfill into documents_v2 runs:", status, StringComparison.Ordinal);

        var (second, secondOutput) = await run.BackfillAsync();

        Assert.True(second == 0, secondOutput);
        Assert.Contains("Resuming the backfill of documents (documents_v1) into documents_v2", secondOutput, StringComparison.Ordinal);
        Assert.Equal(inputsAfterCopy, run.InputsEmbedded);
        Assert.Equal("documents_v2", run.Qdrant.Store.Aliases[Alias]);
        Assert.Equal(run.Texts("documents_v1"), run.Texts("documents_v2"));
    }

    [Fact]
    public async Task A_plain_collection_or_a_missing_alias_is_refused_with_the_reason()
    {
        await using var run = await Run.StartAsync(azurite);
        await run.Qdrant.CreateClient().CreateCollectionAsync("legacy", new Qdrant.Client.Grpc.VectorParams { Size = 8, Distance = Qdrant.Client.Grpc.Distance.Cosine }, cancellationToken: Ct);

        var (plain, plainOutput) = await run.BackfillAsync("--alias", "legacy");
        var (missing, missingOutput) = await run.BackfillAsync("--alias", "nothing-here");

        Assert.Equal(1, plain);
        Assert.Contains("'legacy' is a collection, not an alias", plainOutput, StringComparison.Ordinal);
        Assert.Equal(1, missing);
        Assert.Contains("there is no alias 'nothing-here'", missingOutput, StringComparison.Ordinal);
    }

    private sealed class Run : IAsyncDisposable
    {
        private readonly FakeEmbeddingServer _embeddings;
        private readonly IHost _host;
        private readonly QueueClient _queue;
        private readonly QueueClient _backfill;
        private readonly Dictionary<string, string?> _settings;

        private Run(FakeEmbeddingServer embeddings, QdrantStandInServer qdrant, IHost host, QueueClient queue, QueueClient backfill, Dictionary<string, string?> settings)
        {
            _embeddings = embeddings;
            Qdrant = qdrant;
            _host = host;
            _queue = queue;
            _backfill = backfill;
            _settings = settings;
        }

        public QdrantStandInServer Qdrant { get; }

        public int InputsEmbedded => _embeddings.Requests.Sum(r => r.Inputs.Count);

        public static async Task<Run> StartAsync(AzuriteFixture azurite)
        {
            var embeddings = await FakeEmbeddingServer.StartAsync();
            var qdrant = await QdrantStandInServer.StartAsync();
            var queueName = AzuriteFixture.UniqueQueueName("bf");
            var queue = azurite.Queue(queueName);
            await queue.CreateAsync(cancellationToken: Ct);
            var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Alias);
            settings["Chunking:MaxChunkTokens"] = "48";
            settings["Chunking:OverlapTokens"] = "8";
            settings["Backfill:MarkerRefresh"] = "00:00:01";
            settings["Backfill:PageSize"] = "4";
            var host = WorkerHost.Build(settings);
            await host.StartAsync(Ct);
            return new Run(embeddings, qdrant, host, queue, azurite.Queue(queueName + "-backfill"), settings);
        }

        public async Task SeedAsync(int documents)
        {
            for (var i = 0; i < documents; i++)
            {
                var text = i % 4 == 0
                    ? string.Join("\n\n", Enumerable.Range(0, 4).Select(p => $"Document {i}, part {p}: the service manual of pump P{i} lists step {p} of its overhaul in detail."))
                    : $"Document {i} describes pump P{i} and its maintenance interval of {i % 12 + 1} months.";
                await SendAsync(JsonSerializer.Serialize(new { id = $"doc-{i:D2}", text, title = $"Pump {i}" }));
            }
            await WaitUntilSettledAsync();
        }

        public Task SendAsync(string body) => _queue.SendMessageAsync(body, Ct);

        public async Task WaitUntilSettledAsync()
        {
            await QueueAssertions.WaitUntilEmptyAsync(_queue, TimeSpan.FromSeconds(60), Ct);
            if (await _backfill.ExistsAsync(Ct))
            {
                await QueueAssertions.WaitUntilEmptyAsync(_backfill, TimeSpan.FromSeconds(60), Ct);
            }
        }

        public Task<(int Code, string Output)> BackfillAsync(params string[] options) =>
            CliAsync(["backfill", "--poll", "00:00:00.200", "--timeout", "00:01:00", .. options]);

        public async Task<(int Code, string Output)> CliAsync(params string[] args)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(_settings).Build();
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await WorkerCli.RunAsync(args, configuration, new StringReader(""), output, error, Ct);
            return (code, output.ToString() + error);
        }

        /// <summary>Point id → text of a collection, for comparing two of them.</summary>
        public SortedDictionary<string, string> Texts(string collection) =>
            new(Qdrant.Store.Points(collection).ToDictionary(p => p.Key, p => p.Payload[PayloadFields.Text].StringValue), StringComparer.Ordinal);

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
            await Qdrant.DisposeAsync();
            await _embeddings.DisposeAsync();
        }
    }
}
