using Stackit.EmbeddingWorker.Backfill;

namespace Stackit.EmbeddingWorker.Tests.Backfill;

public sealed class PageSlotsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pages_that_embed_nothing_leave_room_for_more_pages_than_ConcurrentPages()
    {
        using var slots = new PageSlots(concurrentPages: 2);
        var first = await slots.TakeAsync(Ct);
        var second = await slots.TakeAsync(Ct);
        var third = slots.TakeAsync(Ct);
        Assert.False(third.IsCompleted);

        // Both read, both copies with the source's vectors: each keeps a quarter of its slot.
        first.Shrink();
        second.Shrink();

        var thirdSlot = await third.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        thirdSlot.Shrink();
        var fourth = await slots.TakeAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(0, slots.Free);
        foreach (var slot in new[] { first, second, thirdSlot, fourth })
        {
            slot.Dispose();
        }
        Assert.Equal(2, slots.Free);
    }

    [Fact]
    public async Task A_page_that_embeds_holds_its_whole_slot_and_a_slot_is_given_back_once()
    {
        using var slots = new PageSlots(concurrentPages: 1);
        var embedding = await slots.TakeAsync(Ct);
        var next = slots.TakeAsync(Ct);
        Assert.False(next.IsCompleted);

        embedding.Dispose();
        embedding.Shrink();
        embedding.Dispose();

        var nextSlot = await next.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(0, slots.Free);
        nextSlot.Shrink();
        nextSlot.Dispose();
        Assert.Equal(1, slots.Free);
    }
}
