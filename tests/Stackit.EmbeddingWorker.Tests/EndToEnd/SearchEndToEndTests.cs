using System.Text.Json;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The <c>search</c> command against what the worker stored (Azurite, the loopback endpoint, the Qdrant STAND-IN,
/// which ranks by exact cosine similarity). The test endpoint's vectors carry no meaning, so each test tells it
/// which stored chunk a query is about, and checks that the command finds that chunk, asks with the query
/// instruction, and narrows by metadata.
/// </summary>
public sealed class SearchEndToEndTests(AzuriteFixture azurite)
{
    private const string Instruction = "Given a web search query, retrieve relevant passages that answer the query";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_embeds_the_query_with_the_instruction_and_prints_the_nearest_chunks_best_first()
    {
        await using var run = await SeededAsync();
        var impeller = ChunkText(run, "pump-2");
        run.Embeddings.SameVectorAs[$"Instruct: {Instruction}\nQuery: impeller replacement"] = impeller;

        var (code, output, error) = await run.CliAsync(Ct, "search", "impeller replacement", "--limit", "3");

        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("3 chunks of documents for \"impeller replacement\" (dense):", lines[0]);
        Assert.Matches(@"^\s+1\s+1\.0000\s+pump-2\s+#0\s+Pump 2: replace the impeller", lines[1]);
        Assert.Equal(4, lines.Length);
        Assert.Contains(run.Embeddings.Requests, r => r.Inputs is [var input] && input == $"Instruct: {Instruction}\nQuery: impeller replacement");
    }

    [Fact]
    public async Task A_metadata_filter_keeps_only_matching_documents_whether_the_value_is_stored_as_text_or_number()
    {
        await using var run = await SeededAsync();
        run.Embeddings.SameVectorAs[$"Instruct: {Instruction}\nQuery: impeller"] = ChunkText(run, "pump-2");

        var (siteCode, site, siteError) = await run.CliAsync(Ct, "search", "impeller", "--filter", "site=hamburg");
        var (yearCode, year, yearError) = await run.CliAsync(Ct, "search", "impeller", "--filter", "site=berlin", "--filter", "year=2023");

        Assert.True(siteCode == 0, siteError);
        Assert.Equal(["pump-1", "pump-3"], DocumentsIn(site).Order());
        Assert.True(yearCode == 0, yearError);
        Assert.Equal(["pump-0"], DocumentsIn(year));
    }

    [Fact]
    public async Task Bad_arguments_exit_2_and_a_missing_collection_exits_1_with_qdrants_answer()
    {
        await using var run = await SeededAsync();

        var (badFilter, _, badFilterError) = await run.CliAsync(Ct, "search", "pump", "--filter", "no-equals-sign");
        var (badLimit, _, _) = await run.CliAsync(Ct, "search", "pump", "--limit", "0");
        var (missing, _, missingError) = await run.CliAsync(Ct, "search", "pump", "--collection", "nothing-here");

        Assert.Equal(2, badFilter);
        Assert.Contains("'no-equals-sign' is not key=value", badFilterError, StringComparison.Ordinal);
        Assert.Equal(2, badLimit);
        Assert.Equal(1, missing);
        Assert.Contains("Qdrant refused the search of 'nothing-here': NotFound", missingError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hybrid_search_finds_an_exact_term_by_BM25_that_the_dense_vectors_rank_low()
    {
        await using var run = await SeededAsync(settings => settings["Qdrant:Bm25"] = "english");
        await run.Queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "seal-kit", text = "Seal kit SK-4711 fits the pumps of the second series." }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(30), Ct);
        // The query's dense vector is that of another document: the dense side knows nothing of part numbers.
        var query = "SK-4711";
        run.Embeddings.SameVectorAs[$"Instruct: {Instruction}\nQuery: {query}"] = ChunkText(run, "pump-0");
        var denseOnly = await run.Qdrant.CreateClient().QueryAsync("documents", query: FakeEmbeddingServer.VectorFor(ChunkText(run, "pump-0"), 8), usingVector: "dense", limit: 10, cancellationToken: Ct);
        var sealKit = run.Points("seal-kit").Single().Key;
        Assert.True(denseOnly.ToList().FindIndex(p => p.Id.Uuid == sealKit) > 0, "the dense vectors alone do not rank the seal kit first");

        var (code, output, error) = await run.CliAsync(Ct, "search", query, "--limit", "3");

        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(code == 0, error);
        Assert.StartsWith("3 chunks of documents for \"SK-4711\" (dense + BM25 (english), fused by rank):", output, StringComparison.Ordinal);
        Assert.Equal("seal-kit", DocumentsIn(output)[0]);
        // BM25 gets the words as they are, the dense model the instructed query.
        Assert.Contains(run.Embeddings.Requests, r => r.Inputs is [var input] && input == $"Instruct: {Instruction}\nQuery: {query}");
    }

    /// <summary>Four one-chunk documents at two sites, with the year as a number.</summary>
    private async Task<StandInPipelineRun> SeededAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct, configure);
        string[] sites = ["berlin", "hamburg", "berlin", "hamburg"];
        for (var i = 0; i < 4; i++)
        {
            var text = i == 2 ? "Pump 2: replace the impeller after 8000 hours of service." : $"Pump {i}: check the oil level every month.";
            await run.Queue.SendMessageAsync(JsonSerializer.Serialize(new { id = $"pump-{i}", text, metadata = new { site = sites[i], year = 2023 + (i / 2) } }), Ct);
        }
        await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(30), Ct);
        return run;
    }

    private static string ChunkText(StandInPipelineRun run, string documentId) =>
        run.Points(documentId).Single().Payload[PayloadFields.Text].StringValue;

    /// <summary>The document ids of the result lines.</summary>
    private static List<string> DocumentsIn(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2])];
}
