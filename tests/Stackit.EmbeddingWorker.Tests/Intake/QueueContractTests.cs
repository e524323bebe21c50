using Azure;
using Azure.Storage.Queues;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>
/// What the worker relies on from the queue service, written once and run against Azurite and against the
/// queue stand-in the benchmark uses at scales Azurite cannot hold, so the stand-in answers as Azurite does.
/// </summary>
public abstract class QueueContractTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract QueueClient Queue(string name);

    [Fact]
    public async Task A_received_message_comes_back_with_its_text_and_is_hidden_until_its_lease_ends()
    {
        var queue = await NewQueueAsync();
        const string text = """{"id":"d-1","text":"a <b> & \"c\" ü 🙂"}""";
        await queue.SendMessageAsync(text, Ct);

        var received = Assert.Single((await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value);

        Assert.Equal(text, received.Body.ToString());
        Assert.Equal(1, received.DequeueCount);
        Assert.Empty((await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value);
        Assert.Equal(1, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task An_update_renews_the_receipt_and_a_zero_visibility_hands_the_message_out_again()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("m", Ct);
        var first = Assert.Single((await queue.ReceiveMessagesAsync(1, Lease, Ct)).Value);

        var renewed = (await queue.UpdateMessageAsync(first.MessageId, first.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: Ct)).Value;
        var again = Assert.Single((await queue.ReceiveMessagesAsync(1, Lease, Ct)).Value);

        Assert.NotEqual(first.PopReceipt, renewed.PopReceipt);
        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(first.MessageId, first.PopReceipt, Ct));
        Assert.Equal((400, "PopReceiptMismatch"), (stale.Status, stale.ErrorCode));
    }

    [Fact]
    public async Task A_deleted_message_is_gone_for_every_later_call()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("m", Ct);
        var message = Assert.Single((await queue.ReceiveMessagesAsync(1, Lease, Ct)).Value);

        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, Ct);

        Assert.Equal(0, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
        var delete = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, Ct));
        var update = await Assert.ThrowsAsync<RequestFailedException>(() => queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: Lease, cancellationToken: Ct));
        Assert.Equal((404, "MessageNotFound"), (delete.Status, delete.ErrorCode));
        Assert.Equal((404, "MessageNotFound"), (update.Status, update.ErrorCode));
    }

    [Fact]
    public async Task A_receive_hands_out_at_most_32_messages_and_refuses_more()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 40; i++)
        {
            await queue.SendMessageAsync($"m{i}", Ct);
        }

        var first = (await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value;
        var rest = (await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value;
        var tooMany = await Assert.ThrowsAsync<RequestFailedException>(() => queue.ReceiveMessagesAsync(33, Lease, Ct));

        Assert.Equal(32, first.Length);
        Assert.Equal(8, rest.Length);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m{i}").Order(), first.Concat(rest).Select(m => m.Body.ToString()).Order());
        Assert.Equal((400, "OutOfRangeQueryParameterValue"), (tooMany.Status, tooMany.ErrorCode));
    }

    [Fact]
    public async Task A_message_sent_with_a_visibility_delay_and_a_peeked_one_are_not_handed_out()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync(new BinaryData("later"), visibilityTimeout: Lease, cancellationToken: Ct);
        await queue.SendMessageAsync("now", Ct);

        var peeked = Assert.Single((await queue.PeekMessagesAsync(32, Ct)).Value);
        var received = Assert.Single((await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value);

        Assert.Equal("now", peeked.Body.ToString());
        Assert.Equal(0, peeked.DequeueCount);
        Assert.Equal("now", received.Body.ToString());
        Assert.Equal(1, received.DequeueCount);
        Assert.Equal(2, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task A_message_over_64_KiB_and_a_missing_queue_are_refused_with_azures_codes()
    {
        var queue = await NewQueueAsync();
        var missing = Queue(AzuriteFixture.UniqueQueueName("missing"));

        var tooLarge = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendMessageAsync(new string('x', 64 * 1024 + 1), Ct));
        var notFound = await Assert.ThrowsAsync<RequestFailedException>(() => missing.SendMessageAsync("m", Ct));
        var noProperties = await Assert.ThrowsAsync<RequestFailedException>(() => missing.GetPropertiesAsync(Ct));

        Assert.Equal((413, "RequestBodyTooLarge"), (tooLarge.Status, tooLarge.ErrorCode));
        Assert.Equal((404, "QueueNotFound"), (notFound.Status, notFound.ErrorCode));
        Assert.Equal(404, noProperties.Status);
        await queue.SendMessageAsync(new string('x', 64 * 1024), Ct);
    }

    [Fact]
    public async Task Creating_an_existing_queue_is_not_an_error_and_deleting_it_removes_its_messages()
    {
        var queue = await NewQueueAsync();
        await queue.SendMessageAsync("m", Ct);

        Assert.Null(await queue.CreateIfNotExistsAsync(cancellationToken: Ct));
        await queue.DeleteAsync(Ct);

        Assert.False(await queue.ExistsAsync(Ct));
        await queue.CreateAsync(cancellationToken: Ct);
        Assert.Empty((await queue.ReceiveMessagesAsync(32, Lease, Ct)).Value);
    }

    private async Task<QueueClient> NewQueueAsync()
    {
        var queue = Queue(AzuriteFixture.UniqueQueueName("contract"));
        await queue.CreateAsync(cancellationToken: Ct);
        return queue;
    }
}
