using System.Text.Json;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>
/// What the ordering guarantees cost in Qdrant calls (counted by the Qdrant STAND-IN, through the whole worker): two
/// reads by id (tombstones, first chunks) per upsert batch that finishes jobs, one more tombstone read per preparation
/// group for versioned jobs, and one tombstone upsert per delete. The figures go to the test output; docs/qdrant.md
/// quotes them.
/// </summary>
public sealed class OrderingCostTests(AzuriteFixture azurite)
{
    private const int Jobs = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ordering_costs_reads_by_id_per_finished_batch_and_one_tombstone_per_delete()
    {
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct);
        var output = TestContext.Current.TestOutputHelper;

        var unversioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"u{i}", text = $"Unversioned document {i} about pumps." }));
        var unversionedDeletes = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"u{i}", op = "delete" }));
        var versioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", version = 1, text = $"Versioned document {i} about valves." }));
        var deletes = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", op = "delete", version = 2 }));

        foreach (var (name, calls) in new[] { ("unversioned upserts", unversioned), ("unversioned deletes", unversionedDeletes), ("versioned upserts", versioned), ("versioned deletes", deletes) })
        {
            output?.WriteLine($"{Jobs} {name}: " + string.Join(", ", calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")));
        }
        // Reads by id per batch that finishes jobs, never per job.
        Assert.InRange(unversioned.GetValueOrDefault("Get/tombstones"), 1, Jobs / 2);
        Assert.Equal(unversioned.GetValueOrDefault("Get/tombstones"), unversioned.GetValueOrDefault("Get/points"));
        Assert.DoesNotContain(unversioned.Keys, k => k.StartsWith("Upsert/tombstones", StringComparison.Ordinal));
        Assert.InRange(versioned.GetValueOrDefault("Get/tombstones"), 1, 2 * Jobs);
        // One tombstone upsert per delete; the first is written again once its collection is created.
        Assert.InRange(unversionedDeletes.GetValueOrDefault("Upsert/tombstones"), Jobs, Jobs + 1);
        Assert.InRange(deletes.GetValueOrDefault("Upsert/tombstones"), Jobs, Jobs + 1);
        Assert.Empty(run.Points("u0"));
        Assert.Empty(run.Points("v0"));
    }

    /// <summary>Sends <see cref="Jobs"/> jobs, waits until all are settled, and returns the Qdrant calls they made.</summary>
    private static async Task<Dictionary<string, int>> MeasureAsync(StandInPipelineRun run, Func<int, string> job)
    {
        var before = run.Qdrant.Store.Calls.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        for (var i = 0; i < Jobs; i++)
        {
            await run.Queue.SendMessageAsync(job(i), Ct);
        }
        await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(60), Ct);
        return run.Qdrant.Store.Calls
            .Select(c => (c.Key, Delta: c.Value - before.GetValueOrDefault(c.Key)))
            .Where(c => c.Delta > 0)
            .ToDictionary(c => c.Key, c => c.Delta, StringComparer.Ordinal);
    }
}
