using System.Text;
using System.Text.Json;
using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Tests.Messaging;

/// <summary>The record a handed-back message carries, around the producer's body, which comes back unchanged.</summary>
public sealed class DeliveryRecordTests
{
    [Theory]
    [InlineData("""{"id":"a","text":"Grüße \"quoted\"","metadata":{"n":[1,2]}}""")]
    [InlineData("eyJpZCI6ImI2NCIsInRleHQiOiJ4In0=")]
    [InlineData("\uFEFF  {\"id\":\"bom\",\"text\":\"x\"}")]
    [InlineData("not json at all {")]
    public void The_producers_body_comes_back_unchanged_with_the_counts(string body)
    {
        var written = new DeliveryRecord(2, 5).Write(Encoding.UTF8.GetBytes(body));

        var (record, read) = DeliveryRecord.Read(written!.ToMemory());

        Assert.Equal(new DeliveryRecord(2, 5), record);
        Assert.Equal(body, Encoding.UTF8.GetString(read.Span));
    }

    [Fact]
    public void A_json_body_is_kept_as_json_inside_not_escaped()
    {
        // 20,000 escaped quotes: as a JSON string inside the record they would take twice the room.
        var body = "{\"id\":\"q\",\"text\":\"" + string.Concat(Enumerable.Repeat("\\\"", 20_000)) + "\"}";

        var written = new DeliveryRecord(1, 1).Write(Encoding.UTF8.GetBytes(body))!;

        Assert.True(written.ToMemory().Length < body.Length + 100, $"{written.ToMemory().Length} bytes for a {body.Length}-byte body");
        Assert.Equal("q", JsonDocument.Parse(written).RootElement.GetProperty("body").GetProperty("id").GetString());
    }

    [Fact]
    public void A_body_that_leaves_no_room_for_the_record_is_not_wrapped()
    {
        var body = JsonSerializer.Serialize(new { id = "big", text = new string('x', DeliveryRecord.MaxMessageBytes - 40) });

        Assert.Null(new DeliveryRecord(1, 1).Write(Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData("""{"id":"a","text":"x"}""")]
    [InlineData("""{"embeddingWorkerDelivery":"forged","body":{"id":"a"}}""")]
    public void A_message_without_a_record_of_ours_is_read_as_it_is(string message)
    {
        var (record, body) = DeliveryRecord.Read(Encoding.UTF8.GetBytes(message));

        Assert.Equal(default, record);
        Assert.Equal(message, Encoding.UTF8.GetString(body.Span));
    }
}
