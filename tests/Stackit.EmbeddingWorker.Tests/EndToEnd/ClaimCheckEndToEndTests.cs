using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Jobs over the 64 KiB queue limit travel as a blob (claim-check) through Azurite's blob service, from the CLI to
/// the worker to the Qdrant STAND-IN; claim-checks the worker must not or cannot follow are poisoned with the reason.
/// </summary>
public sealed class ClaimCheckEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_document_over_the_queue_limit_goes_from_the_CLI_through_a_blob_into_Qdrant_in_full()
    {
        var queueName = AzuriteFixture.UniqueQueueName("claim");
        var container = "c" + queueName;
        var directory = Directory.CreateTempSubdirectory("claim-check");
        var path = Path.Combine(directory.FullName, "big-manual.txt");
        var text = LargeText(200 * 1024);
        await File.WriteAllTextAsync(path, text, Ct);

        var (code, output, error) = await EnqueueAsync(queueName, container, path);

        Assert.True(code == 0, error);
        Assert.Contains($"1 too large for a message, in container {container}", output, StringComparison.Ordinal);
        var message = (await azurite.Queue(queueName).PeekMessageAsync(Ct)).Value;
        using (var body = JsonDocument.Parse(message.Body.ToString()))
        {
            Assert.Equal("big-manual.txt", body.RootElement.GetProperty("id").GetString());
            Assert.Contains($"/{container}/", body.RootElement.GetProperty("blobUri").GetString(), StringComparison.Ordinal);
        }

        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        using (var host = WorkerHost.Build(Settings(queueName, container, embeddings, qdrant)))
        {
            await host.StartAsync(Ct);
            await QueueAssertions.WaitUntilEmptyAsync(azurite.Queue(queueName), TimeSpan.FromSeconds(60), Ct);
            await host.StopAsync(Ct);
        }

        var points = qdrant.Store.Points(Collection).OrderBy(p => p.Payload[PayloadFields.ChunkIndex].IntegerValue).ToList();
        Assert.True(points.Count > 10, $"a 200 KiB document must be many chunks, got {points.Count}");
        Assert.All(points, p => Assert.Equal("big-manual.txt", p.Payload[PayloadFields.DocumentId].StringValue));
        var stored = string.Join(" ", points.Select(p => p.Payload[PayloadFields.Text].StringValue));
        Assert.All(text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), word => Assert.Contains(word, stored, StringComparison.Ordinal));
        Assert.Equal(0, await QueueAssertions.CountAsync(azurite.Queue(queueName + "-poison"), Ct));
        directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Claim_checks_outside_the_container_of_missing_blobs_or_of_bad_blobs_are_poisoned_with_the_reason()
    {
        var queueName = AzuriteFixture.UniqueQueueName("claim");
        var containerName = "c" + queueName;
        var container = azurite.Container(containerName);
        await container.CreateAsync(cancellationToken: Ct);
        await container.UploadBlobAsync("nested.json", BinaryData.FromString("""{"id":"n-1","blobUri":"http://127.0.0.1/x"}"""), Ct);
        await container.UploadBlobAsync("other-id.json", BinaryData.FromString("""{"id":"someone-else","text":"hello"}"""), Ct);
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        var cases = new (string Body, string Reason)[]
        {
            ("""{"id":"m-1","blobUri":"http://169.254.169.254/latest/meta-data"}""", $"is not a blob in the container '{containerName}'"),
            (JsonSerializer.Serialize(new { id = "m-2", blobUri = $"{container.Uri}-evil/x.json" }), "is not a blob in the container"),
            (JsonSerializer.Serialize(new { id = "m-3", blobUri = $"{container.Uri}/../other/x.json" }), "is not a blob in the container"),
            (JsonSerializer.Serialize(new { id = "m-4", blobUri = $"{container.Uri}/missing.json" }), "does not exist"),
            (JsonSerializer.Serialize(new { id = "n-1", blobUri = $"{container.Uri}/nested.json" }), "must not name another blob"),
            (JsonSerializer.Serialize(new { id = "m-6", blobUri = $"{container.Uri}/other-id.json" }), "the blob holds job 'someone-else', but the message names 'm-6'"),
            ("""{"id":"m-7","blobUri":42}""", "'blobUri'"),
        };
        foreach (var (body, _) in cases)
        {
            await queue.SendMessageAsync(body, Ct);
        }

        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var settings = Settings(queueName, containerName, embeddings, qdrant);
        settings["Queue:MaxDequeueCount"] = "1";
        using (var host = WorkerHost.Build(settings))
        {
            await host.StartAsync(Ct);
            await QueueAssertions.WaitUntilEmptyAsync(queue, TimeSpan.FromSeconds(60), Ct);
            await host.StopAsync(Ct);
        }

        var poisoned = await QueueAssertions.DrainAsync(azurite.Queue(queueName + "-poison"), Ct);
        Assert.Equal(cases.Length, poisoned.Count);
        foreach (var (body, reason) in cases)
        {
            var envelope = Assert.Single(poisoned, p => p.GetProperty("message").GetString() == body);
            Assert.Contains(reason, envelope.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        Assert.Empty(embeddings.Requests);
    }

    [Fact]
    public async Task Claimed_bodies_held_at_once_stay_within_the_byte_budget_and_are_all_given_back()
    {
        // Six documents of 600 KiB under a budget of 1 MiB: one body in the pipeline at a time; before, all six.
        var queueName = AzuriteFixture.UniqueQueueName("budget");
        var container = "c" + queueName;
        var directory = Directory.CreateTempSubdirectory("claim-budget");
        for (var i = 0; i < 6; i++)
        {
            var path = Path.Combine(directory.FullName, $"manual-{i}.txt");
            await File.WriteAllTextAsync(path, LargeText(600 * 1024), Ct);
            var (code, _, error) = await EnqueueAsync(queueName, container, path);
            Assert.True(code == 0, error);
        }

        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var settings = Settings(queueName, container, embeddings, qdrant);
        settings["Blobs:MaxInFlightBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Chunking:MaxChunkTokens"] = "512";
        using var host = WorkerHost.Build(settings);
        var budget = host.Services.GetRequiredService<Stackit.EmbeddingWorker.Pipeline.ByteBudget>();
        await host.StartAsync(Ct);
        long peak = 0;
        var queue = azurite.Queue(queueName);
        while (await QueueAssertions.CountAsync(queue, Ct) > 0)
        {
            peak = Math.Max(peak, budget.Held);
            await Task.Delay(5, Ct);
        }
        await host.StopAsync(Ct);

        Assert.InRange(peak, 600 * 1024, 1024 * 1024);
        Assert.Equal(0, budget.Held);
        Assert.Equal(6, qdrant.Store.Points(Collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().Count());
        directory.Delete(recursive: true);
    }

    private Dictionary<string, string?> Settings(string queueName, string container, FakeEmbeddingServer embeddings, QdrantStandInServer qdrant)
    {
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Blobs:Container"] = container;
        return settings;
    }

    private async Task<(int Code, string Output, string Error)> EnqueueAsync(string queueName, string container, string path)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Queue:ConnectionString"] = azurite.ConnectionString,
            ["Queue:Name"] = queueName,
            ["Blobs:Container"] = container,
        }).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await WorkerCli.RunAsync(["enqueue", path], configuration, new StringReader(""), output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    private static string LargeText(int bytes)
    {
        var builder = new StringBuilder(bytes + 100);
        for (var i = 0; builder.Length < bytes; i++)
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"Step {i} of the overhaul checks part P{i} and logs it. ");
            if (i % 12 == 11)
            {
                builder.Append("\n\n");
            }
        }
        return builder.ToString();
    }
}
