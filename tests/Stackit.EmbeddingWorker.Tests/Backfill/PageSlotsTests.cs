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

        // Both read, both copies of a page's worth of documents with the source's vectors: each keeps a quarter of its slot.
        first.Shrink(documents: 32, pageSize: 32);
        second.Shrink(documents: 5, pageSize: 32);

        var thirdSlot = await third.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        thirdSlot.Shrink(documents: 32, pageSize: 32);
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
        embedding.Shrink(documents: 32, pageSize: 32);
        embedding.Dispose();

        var nextSlot = await next.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(0, slots.Free);
        nextSlot.Shrink(documents: 1, pageSize: 32);
        nextSlot.Dispose();
        Assert.Equal(1, slots.Free);
    }

    [Fact]
    public async Task A_copy_page_of_four_pages_worth_of_documents_keeps_its_whole_slot_so_the_documents_held_stay_bounded()
    {
        using var slots = new PageSlots(concurrentPages: 2);
        var copy = await slots.TakeAsync(Ct);
        var half = await slots.TakeAsync(Ct);

        copy.Shrink(documents: 128, pageSize: 32);
        half.Shrink(documents: 64, pageSize: 32);

        // 128 + 64 documents held; room for two more quarters, so at most 256 documents (2 × 4 × 32) in all.
        Assert.Equal(0, slots.Free);
        var next = slots.TakeAsync(Ct);
        Assert.False(next.IsCompleted);
        half.Dispose();
        var nextSlot = await next.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        nextSlot.Shrink(documents: 300, pageSize: 32);
        Assert.Equal(0, slots.Free);
        copy.Dispose();
        nextSlot.Dispose();
        Assert.Equal(2, slots.Free);
    }
}
