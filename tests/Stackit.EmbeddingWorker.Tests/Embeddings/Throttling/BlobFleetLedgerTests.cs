using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>The fleet ledger against Azurite: one blob per replica, demands in metadata, ages on the service's clock.</summary>
public sealed class BlobFleetLedgerTests(AzuriteFixture azurite)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replicas_see_each_other_s_demands_and_a_removed_one_is_gone()
    {
        // The container does not exist yet: the first heartbeat creates it.
        var container = azurite.Container(AzuriteFixture.UniqueQueueName("fleet"));
        var a = new BlobFleetLedger(new Lazy<Azure.Storage.Blobs.BlobContainerClient>(container), "intfloat/e5-mistral-7b-instruct");
        var b = new BlobFleetLedger(new Lazy<Azure.Storage.Blobs.BlobContainerClient>(container), "intfloat/e5-mistral-7b-instruct");
        var otherModel = new BlobFleetLedger(new Lazy<Azure.Storage.Blobs.BlobContainerClient>(container), "Qwen/Qwen3-VL-Embedding-8B");

        await a.PublishAsync(new FleetDemand("pod-a", 0.25, 0), Cancel);
        await otherModel.PublishAsync(new FleetDemand("pod-x", 1, 1), Cancel);
        var view = await b.PublishAsync(new FleetDemand("pod-b", double.PositiveInfinity, 0.5), Cancel);

        Assert.Equal(["pod-a", "pod-b"], view.Members.Select(m => m.Demand.Member).Order());
        Assert.Equal(new FleetDemand("pod-a", 0.25, 0), view.Members.Single(m => m.Demand.Member == "pod-a").Demand);
        Assert.Equal(new FleetDemand("pod-b", double.PositiveInfinity, 0.5), view.Members.Single(m => m.Demand.Member == "pod-b").Demand);
        // Ages are on the storage service's clock, which the write reported.
        Assert.All(view.Members, m => Assert.InRange(view.Now - m.LastSeen, TimeSpan.Zero, TimeSpan.FromSeconds(30)));

        // A replica's first report says so; the next does not.
        await a.PublishAsync(new FleetDemand("pod-a", 0, 0, Starting: true), Cancel);
        view = await b.PublishAsync(new FleetDemand("pod-b", 0, 0), Cancel);
        Assert.True(view.Members.Single(m => m.Demand.Member == "pod-a").Demand.Starting);
        Assert.False(view.Members.Single(m => m.Demand.Member == "pod-b").Demand.Starting);

        await a.RemoveAsync("pod-a", Cancel);
        view = await b.PublishAsync(new FleetDemand("pod-b", 0, 0), Cancel);
        Assert.Equal(["pod-b"], view.Members.Select(m => m.Demand.Member));
    }

    [Theory]
    [InlineData("intfloat/e5-mistral-7b-instruct", "intfloat-e5-mistral-7b-instruct-")]
    [InlineData("Qwen/Qwen3-VL-Embedding-8B", "qwen-qwen3-vl-embedding-8b-")]
    public void Each_model_has_its_own_folder_with_a_safe_name(string model, string readable)
    {
        var scope = BlobFleetLedger.Scope(model);
        Assert.StartsWith(readable, scope, StringComparison.Ordinal);
        Assert.Matches("^[a-z0-9-]+$", scope);
    }
}
