using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>Every model's budget shared with the fleet, each through its own ledger folder (Azurite).</summary>
public sealed class FleetBudgetsTests(AzuriteFixture azurite)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_migration_targets_budget_made_after_start_joins_its_own_ledger_at_once_and_every_entry_is_given_back_at_stop()
    {
        var container = azurite.Container(AzuriteFixture.UniqueQueueName("fleet"));
        var options = new EmbeddingsOptions { Model = "served/model", TokensPerMinute = 60_000 };
        using var budgets = new RateBudgets(options, 16_384, TimeProvider.System);
        budgets.For("served/model");
        var fleet = new FleetBudgets(budgets, model => new BlobFleetLedger(new Lazy<BlobContainerClient>(container), model),
            new FleetOptions(), TimeProvider.System, NullLoggerFactory.Instance);
        await fleet.StartAsync(Cancel);

        var target = budgets.For("next/model");

        // Held at no share until its first heartbeat (then at most its part of Fleet:MaxReplicas), alone in its ledger
        // it takes the whole budget of its model at its second.
        var admitted = target.AcquireAsync(100, Cancel).AsTask();
        await admitted.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        Assert.InRange(target.Share, 1.0 / new FleetOptions().MaxReplicas, 1.0);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (target.Share < 1.0 && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100, Cancel);
        }
        Assert.Equal(1.0, target.Share);
        Assert.Equal(1, fleet.Members("next/model"));
        var entries = await container.GetBlobsAsync(cancellationToken: Cancel).Select(b => b.Name).ToListAsync(Cancel);
        Assert.Contains(entries, n => n.StartsWith($"fleet/{BlobFleetLedger.Scope("next/model")}/", StringComparison.Ordinal));
        Assert.Contains(entries, n => n.StartsWith($"fleet/{BlobFleetLedger.Scope("served/model")}/", StringComparison.Ordinal));

        await fleet.StopAsync(Cancel);

        Assert.Empty(await container.GetBlobsAsync(cancellationToken: Cancel).ToListAsync(Cancel));
    }
}
