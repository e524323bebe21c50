using System.Text.Json;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Updates of one document through the whole worker (Azurite, the loopback endpoint, the Qdrant STAND-IN):
/// unchanged chunks are not embedded again, and an older version never replaces a newer one.
/// </summary>
public sealed class UpdatesEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";

    // Each paragraph (about 95 bytes: 32 tokens at the first, conservative estimate, 24 counted) is one chunk
    // whatever the calibration: one fits in 40 tokens, two never do.
    private static readonly string ParagraphA = "Pump P1 needs new seals every six months; check the shaft for wear and replace the bearings.";
    private static readonly string ParagraphB = "The valve block of model V7 is cleaned with warm water only, never with solvents or abrasives.";
    private static readonly string ParagraphC = "Filters F2 and F3 are swapped together, after the pressure test, and logged in the service book.";

    [Fact]
    public async Task Republished_text_is_not_embedded_again_but_its_new_payload_lands_and_a_changed_chunk_is()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await StandInPipelineRun.StartAsync(azurite, Collection, ct);

        await run.SendAndWaitAsync(Job("doc-1", 1, "First", ParagraphA, ParagraphB, ParagraphC), ct);
        Assert.Equal(3, run.InputsEmbedded);

        await run.SendAndWaitAsync(Job("doc-1", 2, "Renamed", ParagraphA, ParagraphB, ParagraphC), ct);
        Assert.Equal(3, run.InputsEmbedded);
        var points = run.Points("doc-1");
        Assert.Equal(3, points.Count);
        Assert.All(points, p => Assert.Equal(2, p.Payload[PayloadFields.Version].IntegerValue));
        Assert.All(points, p => Assert.Equal("Renamed", p.Payload[PayloadFields.Title].StringValue));
        Assert.All(points, p => Assert.Equal(FakeEmbeddingServer.VectorFor(p.Payload[PayloadFields.Text].StringValue, 8), p.Vector));

        var changedB = "The valve block of model V8 is cleaned with a soft brush only, never with solvents or abrasives.";
        await run.SendAndWaitAsync(Job("doc-1", 3, "Renamed", ParagraphA, changedB, ParagraphC), ct);
        Assert.Equal(4, run.InputsEmbedded);
        Assert.Equal(changedB.Trim(), Assert.Single(run.Embeddings.Requests.Last().Inputs).Trim());
        Assert.Contains(run.Points("doc-1"), p => p.Payload[PayloadFields.Text].StringValue.Contains("V8", StringComparison.Ordinal));

        await run.SendAndWaitAsync(Job("doc-1", 4, "Renamed", ParagraphA), ct);
        Assert.Equal(4, run.InputsEmbedded);
        var shrunk = Assert.Single(run.Points("doc-1"));
        Assert.Equal(1, shrunk.Payload[PayloadFields.ChunkCount].IntegerValue);
        Assert.Equal(4, shrunk.Payload[PayloadFields.Version].IntegerValue);
        Assert.Equal(0, await QueueAssertions.CountAsync(run.Poison, ct));
    }

    [Fact]
    public async Task An_older_version_is_settled_without_touching_the_newer_points_and_an_older_delete_deletes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await StandInPipelineRun.StartAsync(azurite, Collection, ct);
        await run.SendAndWaitAsync(Job("doc-1", 5, "Five", ParagraphA, ParagraphB), ct);
        var embedded = run.InputsEmbedded;

        await run.SendAndWaitAsync(Job("doc-1", 4, "Four", ParagraphC), ct);
        await run.SendAndWaitAsync(JsonSerializer.Serialize(new { id = "doc-1", op = "delete", version = 4 }), ct);

        Assert.Equal(embedded, run.InputsEmbedded);
        var points = run.Points("doc-1");
        Assert.Equal(2, points.Count);
        Assert.All(points, p => Assert.Equal("Five", p.Payload[PayloadFields.Title].StringValue));
        Assert.Equal(0, await QueueAssertions.CountAsync(run.Poison, ct));

        await run.SendAndWaitAsync(JsonSerializer.Serialize(new { id = "doc-1", op = "delete", version = 6 }), ct);
        Assert.Empty(run.Points("doc-1"));
    }

    [Fact]
    public async Task A_large_document_of_4096_dimensional_vectors_republished_with_one_change_embeds_one_chunk()
    {
        // 300 chunks of 4096 floats are 4.7 MiB of vectors to read back: more than a gRPC client takes in one
        // answer by default. Before, the read failed and every chunk was embedded again.
        var ct = TestContext.Current.CancellationToken;
        await using var run = await StandInPipelineRun.StartAsync(azurite, Collection, ct);
        run.Embeddings.Dimensions = 4096;
        var paragraphs = Enumerable.Range(0, 300).Select(i => $"Paragraph {i:D3} of the service manual: the pumps are checked, the seals logged.".PadRight(90, '.')).ToArray();

        await run.SendAndWaitAsync(StandInPipelineRun.Upsert("doc-1", null, paragraphs), ct);
        Assert.Equal(300, run.InputsEmbedded);

        paragraphs[150] = "Paragraph 150 was rewritten: the valves are cleaned with warm water, never with solvents.".PadRight(90, '.');
        await run.SendAndWaitAsync(StandInPipelineRun.Upsert("doc-1", null, paragraphs), ct);

        Assert.Equal(301, run.InputsEmbedded);
        Assert.Equal(300, run.Points("doc-1").Count);
        Assert.Equal(0, await QueueAssertions.CountAsync(run.Poison, ct));
    }

    [Fact]
    public async Task With_SkipUnchanged_off_every_chunk_is_embedded_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await StandInPipelineRun.StartAsync(azurite, Collection, ct, s => s["Qdrant:SkipUnchanged"] = "false");

        await run.SendAndWaitAsync(Job("doc-1", null, "First", ParagraphA, ParagraphB), ct);
        await run.SendAndWaitAsync(Job("doc-1", null, "First", ParagraphA, ParagraphB), ct);

        Assert.Equal(4, run.InputsEmbedded);
    }

    private static string Job(string id, long? version, string title, params string[] paragraphs) =>
        JsonSerializer.Serialize(new { id, version, title, text = string.Join("\n\n", paragraphs) });
}
