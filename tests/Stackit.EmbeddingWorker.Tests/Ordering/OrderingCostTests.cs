using System.Text.Json;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>
/// What the ordering guarantees cost in Qdrant calls (counted by the Qdrant STAND-IN, through the whole worker):
/// nothing for unversioned jobs, a few reads by id for versioned ones. The figures go to the test output; the README
/// quotes them.
/// </summary>
public sealed class OrderingCostTests(AzuriteFixture azurite)
{
    private const int Jobs = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Unversioned_jobs_cost_no_tombstone_call_and_versioned_ones_a_few_reads_by_id()
    {
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct);
        var output = TestContext.Current.TestOutputHelper;

        var unversioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"u{i}", text = $"Unversioned document {i} about pumps." }));
        var versioned = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", version = 1, text = $"Versioned document {i} about valves." }));
        var deletes = await MeasureAsync(run, i => JsonSerializer.Serialize(new { id = $"v{i}", op = "delete", version = 2 }));

        foreach (var (name, calls) in new[] { ("unversioned upserts", unversioned), ("versioned upserts", versioned), ("versioned deletes", deletes) })
        {
            output?.WriteLine($"{Jobs} {name}: " + string.Join(", ", calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}")));
        }
        Assert.DoesNotContain(unversioned.Keys, k => k.EndsWith("/tombstones", StringComparison.Ordinal));
        Assert.InRange(versioned.GetValueOrDefault("Get/tombstones"), 1, 2 * Jobs);
        // One tombstone per delete; the first is written again once its collection is created.
        Assert.InRange(deletes.GetValueOrDefault("Upsert/tombstones"), Jobs, Jobs + 1);
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
