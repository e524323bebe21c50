using System.Text;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Tests.EndToEnd;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>Every hostile message is refused with its reason, and parsing it allocates in proportion to its size.</summary>
public sealed class HostileMessageParserTests
{
    private static readonly JobMessageParser Parser = new("documents", new HashSet<string>(["manuals"]));

    public static TheoryData<string> Names => [.. HostileMessages.All.Select(h => h.Name)];

    [Fact]
    public void The_corpus_holds_at_least_fifty_distinct_messages()
    {
        Assert.True(HostileMessages.All.Count >= 50, $"{HostileMessages.All.Count} hostile messages");
        Assert.Equal(HostileMessages.All.Count, HostileMessages.All.Select(h => h.Body).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Hostile_message_is_refused_with_a_readable_reason_and_bounded_allocation(string name)
    {
        var hostile = HostileMessages.All.Single(h => h.Name == name);
        var body = Encoding.UTF8.GetBytes(hostile.Body);
        Parser.Parse(body); // warm up, so the measure below is the parse, not the JIT

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = Parser.Parse(body);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.False(result.IsValid);
        Assert.Contains(hostile.ExpectedReason, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
        Assert.True(allocated <= 16 * body.Length + 64 * 1024, $"parsing {body.Length} bytes allocated {allocated} bytes");
    }
}
