using System.Text.Json;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Jobs with images through the whole worker (Azurite, the loopback endpoint's <c>messages</c> form, the Qdrant
/// STAND-IN): one request and one point per job, with the multimodal model, in the multimodal collection.
/// </summary>
public sealed class MultimodalEndToEndTests(AzuriteFixture azurite)
{
    private const string TextCollection = "documents";
    private const string Pictures = "pictures";
    private const string MultimodalModel = "test/vl-embed";
    private const string Png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    private const string Jpeg = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_document_that_switches_between_text_and_images_leaves_nothing_in_the_other_collection()
    {
        await using var run = await StandInPipelineRun.StartAsync(azurite, TextCollection, Ct, settings =>
        {
            settings["Embeddings:MultimodalModel"] = MultimodalModel;
            settings["Qdrant:MultimodalCollection"] = Pictures;
        });
        var (queue, qdrant) = (run.Queue, run.Qdrant);
        List<string> Holding(string collection) => [.. qdrant.Store.Points(collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue)];

        await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "pump", text = "Pump P1 needs new seals.", version = 1 }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "pump", text = "Pump P1 after service", images = new[] { Png }, version = 2 }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);

        Assert.Empty(Holding(TextCollection));
        Assert.Equal(["pump"], Holding(Pictures));

        await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "pump", text = "Pump P1, text only again.", version = 3 }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(["pump"], Holding(TextCollection));
        Assert.Empty(Holding(Pictures));
    }

    [Fact]
    public async Task Jobs_with_images_are_embedded_one_per_request_with_the_multimodal_model_into_their_collection()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("mm");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, TextCollection);
        settings["Embeddings:MultimodalModel"] = MultimodalModel;
        settings["Qdrant:MultimodalCollection"] = Pictures;
        settings["Chunking:MaxChunkTokens"] = "64";
        settings["Chunking:OverlapTokens"] = "8";
        using var host = WorkerHost.Build(settings);
        await host.StartAsync(Ct);

        var tooLong = string.Join(" ", Enumerable.Repeat("This caption is far too long to go with its pictures as one input.", 10));
        foreach (var body in new[]
        {
            JsonSerializer.Serialize(new { id = "text-1", text = "Pump P1 needs new seals every six months." }),
            JsonSerializer.Serialize(new { id = "pump-photo", text = "Pump P1 after service", images = new[] { Png, Jpeg }, version = 1 }),
            JsonSerializer.Serialize(new { id = "valve-photo", images = new[] { Jpeg } }),
            JsonSerializer.Serialize(new { id = "long-caption", text = tooLong, images = new[] { Png } }),
        })
        {
            await queue.SendMessageAsync(body, Ct);
        }
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);

        var multimodalRequests = embeddings.Requests.Where(r => r.Images > 0).ToList();
        Assert.Equal(2, multimodalRequests.Count);
        Assert.All(multimodalRequests, r => Assert.Equal(MultimodalModel, r.Model));
        Assert.All(multimodalRequests, r => Assert.Single(r.Inputs));
        Assert.All(embeddings.Requests.Where(r => r.Images == 0), r => Assert.Equal("test/e5-like", r.Model));

        var photo = Assert.Single(qdrant.Store.Points(Pictures), p => p.Payload[PayloadFields.DocumentId].StringValue == "pump-photo");
        Assert.Equal(FakeEmbeddingServer.VectorFor(FakeEmbeddingServer.MultimodalKey("Pump P1 after service", [Png, Jpeg]), 8), photo.Vector);
        Assert.Equal(MultimodalModel, photo.Payload[PayloadFields.Model].StringValue);
        Assert.Equal(1, photo.Payload[PayloadFields.ChunkCount].IntegerValue);
        Assert.Equal("Pump P1 after service", photo.Payload[PayloadFields.Text].StringValue);
        Assert.Contains(qdrant.Store.Points(Pictures), p => p.Payload[PayloadFields.DocumentId].StringValue == "valve-photo");
        Assert.Equal(["text-1"], qdrant.Store.Points(TextCollection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue));

        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(azurite.Queue(queueName + "-poison"), Ct));
        Assert.Contains("must fit Chunking:MaxChunkTokens (64)", poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);

        // The same picture job again is not embedded again; a delete removes it from the multimodal collection.
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "pump-photo", text = "Pump P1 after service", images = new[] { Png, Jpeg }, version = 2 }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(2, embeddings.Requests.Count(r => r.Images > 0));
        Assert.Equal(2, Assert.Single(qdrant.Store.Points(Pictures), p => p.Payload[PayloadFields.DocumentId].StringValue == "pump-photo").Payload[PayloadFields.Version].IntegerValue);

        await queue.SendMessageAsync("""{"id":"pump-photo","op":"delete"}""", Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
        Assert.DoesNotContain(qdrant.Store.Points(Pictures), p => p.Payload[PayloadFields.DocumentId].StringValue == "pump-photo");
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task Without_a_multimodal_model_a_job_with_images_is_poisoned_with_the_reason()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("mm");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        using var host = WorkerHost.Build(WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, TextCollection));
        await host.StartAsync(Ct);

        await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = "photo", images = new[] { Png } }), Ct);
        await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(30), Ct);
        await host.StopAsync(Ct);

        var poisoned = Assert.Single(await QueueAssertions.DrainAsync(azurite.Queue(queueName + "-poison"), Ct));
        Assert.Contains("no Embeddings:MultimodalModel configured", poisoned.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(embeddings.Requests);
    }
}
