using System.Text;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Intake;

public sealed class JobMessageParserTests
{
    private static readonly JobMessageParser Parser = new("documents", new HashSet<string>(["manuals"]));

    private static JobParseResult Parse(string body) => Parser.Parse(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void Raw_json_job_is_parsed_with_all_fields()
    {
        var result = Parse("""{"id":"manual-42","op":"upsert","text":"Hallo","title":"T","metadata":{"lang":"de","tags":["a"]},"collection":"manuals","version":17,"unknown":1}""");

        Assert.True(result.IsValid, result.Error);
        var job = result.Job;
        Assert.Equal("manual-42", job.Id);
        Assert.Equal(JobOperation.Upsert, job.Operation);
        Assert.Equal("Hallo", job.Text);
        Assert.Equal("T", job.Title);
        Assert.Equal("manuals", job.Collection);
        Assert.Equal(17, job.Version);
        Assert.Equal("de", job.Metadata!.Value.GetProperty("lang").GetString());
    }

    [Theory]
    [InlineData("doc\u001b[31m-1", "U+001B at 3")]
    [InlineData("doc-1\nforged log line", "U+000A at 5")]
    [InlineData("doc\u202e1", "U+202E at 3")]
    public void An_id_with_a_control_character_is_refused_with_the_character_and_where(string id, string where)
    {
        var result = Parse(System.Text.Json.JsonSerializer.Serialize(new { id, text = "x" }));

        Assert.False(result.IsValid);
        Assert.Contains(where, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_text_quoted_in_a_reason_is_escaped()
    {
        var result = Parse("{\"id\":\"a\",\"op\":\"merge\\u001b[2J\\nforged\"}");

        Assert.False(result.IsValid);
        Assert.Contains("merge\\u001B[2J\\u000Aforged", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_over_its_bound_is_refused_with_the_bound_and_the_setting()
    {
        var parser = new JobMessageParser("documents", new HashSet<string>(), maxMetadataBytes: 1_024);
        var within = "{\"id\":\"m1\",\"text\":\"x\",\"metadata\":{\"note\":\"" + new string('a', 1_000) + "\"}}";
        var over = "{\"id\":\"m2\",\"text\":\"x\",\"metadata\":{\"note\":\"" + new string('a', 1_020) + "\"}}";

        Assert.True(parser.Parse(Encoding.UTF8.GetBytes(within)).IsValid);
        var refused = parser.Parse(Encoding.UTF8.GetBytes(over));
        Assert.False(refused.IsValid);
        Assert.Contains("'metadata' is 1031 bytes", refused.Error, StringComparison.Ordinal);
        Assert.Contains("Qdrant:MaxMetadataBytes", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_encoded_job_is_detected_and_parsed()
    {
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"id":"b64","text":"encoded by a Functions producer"}"""));

        var result = Parse(body + "\n");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("b64", result.Job.Id);
        Assert.Equal("documents", result.Job.Collection);
    }

    [Fact]
    public void Byte_order_mark_and_white_space_before_the_json_are_accepted()
    {
        var result = Parser.Parse((byte[])[.. "\uFEFF"u8, .. "  \n{\"id\":\"bom\",\"text\":\"x\"}"u8]);

        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void Delete_needs_no_text()
    {
        var result = Parse("""{"id":"gone","op":"delete"}""");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(JobOperation.Delete, result.Job.Operation);
    }

    [Fact]
    public void Id_of_512_characters_is_accepted_and_513_rejected()
    {
        Assert.True(Parse($"{{\"id\":\"{new string('a', 512)}\",\"text\":\"x\"}}").IsValid);
        Assert.Contains("at most 512", Parse($"{{\"id\":\"{new string('a', 513)}\",\"text\":\"x\"}}").Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "message is empty")]
    [InlineData("   ", "message is empty")]
    [InlineData("plain text", "neither JSON nor base64")]
    [InlineData("{\"id\":\"x\",", "not valid JSON")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",}", "not valid JSON")]
    [InlineData("[{\"id\":\"x\"}]", "must be a JSON object, not an array")]
    [InlineData("\"just a string\"", "must be a JSON object, not a string")]
    [InlineData("{\"text\":\"x\"}", "'id' is required")]
    [InlineData("{\"id\":null,\"text\":\"x\"}", "'id' is required")]
    [InlineData("{\"id\":7,\"text\":\"x\"}", "'id' must be a string, not a number")]
    [InlineData("{\"id\":\"\",\"text\":\"x\"}", "'id' must not be empty")]
    [InlineData("{\"id\":\"x\",\"text\":5}", "'text' must be a string")]
    [InlineData("{\"id\":\"x\"}", "needs non-empty 'text' or 'images'")]
    [InlineData("{\"id\":\"x\",\"text\":\" \\t\\n\"}", "needs non-empty 'text' or 'images'")]
    [InlineData("{\"id\":\"x\",\"op\":\"merge\",\"text\":\"y\"}", "'op' is 'merge'")]
    [InlineData("{\"id\":\"x\",\"op\":\"UPSERT\",\"text\":\"y\"}", "'op' is 'UPSERT'")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"metadata\":[1]}", "'metadata' must be a JSON object")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"title\":{}}", "'title' must be a string")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"version\":-1}", "'version' must be a whole number")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"version\":1.5}", "'version' must be a whole number")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"version\":\"3\"}", "'version' must be a whole number")]
    [InlineData("{\"id\":\"x\",\"text\":\"y\",\"collection\":\"secret\"}", "collection 'secret' is not in Qdrant:AllowedCollections")]
    [InlineData("{\"id\":\"x\",\"images\":\"data:image/png;base64,AAAA\"}", "'images' must be an array of strings")]
    [InlineData("{\"id\":\"x\",\"images\":[1]}", "'images' must hold only strings")]
    [InlineData("{\"id\":\"x\",\"images\":[\"http://example.invalid/a.png\"]}", "images[0] is not a data URI")]
    [InlineData("{\"id\":\"x\",\"images\":[\"data:text/plain;base64,AAAA\"]}", "images[0] must be a base64 data URI of an image type")]
    [InlineData("{\"id\":\"x\",\"images\":[\"data:image/png;base64,!!!\"]}", "images[0] holds data that is not valid base64")]
    [InlineData("{\"id\":\"x\",\"id\":\"y\",\"text\":\"z\"}", "property 'id' appears more than once")]
    [InlineData("{\"id\":\"x\",\"text\":\"z\",\"metadata\":{\"a\":1,\"a\":2}}", "property 'metadata.a' appears more than once")]
    public void Invalid_message_is_rejected_with_a_readable_reason(string body, string expectedReason)
    {
        var result = Parse(body);

        Assert.False(result.IsValid);
        Assert.Contains(expectedReason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_job_with_images_goes_to_the_multimodal_collection_and_may_name_no_other()
    {
        var parser = new JobMessageParser("documents", new HashSet<string>(["manuals"]), "documents_multimodal");

        var result = parser.Parse("""{"id":"x","text":"caption","images":["data:image/png;base64,iVBORw0KGgo="]}"""u8.ToArray());
        Assert.True(result.IsValid, result.Error);
        Assert.Equal("documents_multimodal", result.Job.Collection);
        Assert.Single(result.Job.Images);

        var named = parser.Parse("""{"id":"x","collection":"manuals","images":["data:image/png;base64,iVBORw0KGgo="]}"""u8.ToArray());
        Assert.Contains("'collection' must be left out or name it, not 'manuals'", named.Error, StringComparison.Ordinal);

        var textOnly = parser.Parse("""{"id":"x","collection":"documents_multimodal","text":"no images"}"""u8.ToArray());
        Assert.Contains("not in Qdrant:AllowedCollections", textOnly.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_of_something_other_than_a_json_object_is_rejected()
    {
        var result = Parse(Convert.ToBase64String("hello world"u8));

        Assert.Contains("what it encodes is not a JSON object", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_rejected()
    {
        var result = Parser.Parse((byte[])[.. "{\"id\":\"x\",\"text\":\""u8, 0xC3, 0x28, .. "\"}"u8]);

        Assert.Contains("not valid UTF-8", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_of_invalid_utf8_is_rejected()
    {
        var result = Parse(Convert.ToBase64String((byte[])[.. "{\"id\":\"x\",\"text\":\""u8, 0xFF, .. "\"}"u8]));

        Assert.Contains("not valid UTF-8", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\":\"\\uD800\",\"text\":\"x\"}")]
    [InlineData("{\"id\":\"x\",\"text\":\"a\\uDC00b\"}")]
    public void Escaped_lone_surrogate_is_rejected_not_thrown(string body)
    {
        var result = Parse(body);

        Assert.Contains("not valid Unicode", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_nested_deeper_than_the_limit_is_rejected()
    {
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40);

        var result = Parse($"{{\"id\":\"x\",\"text\":\"y\",\"metadata\":{nested}}}");

        Assert.Contains("nested too deep", result.Error, StringComparison.Ordinal);
        Assert.Contains("depth", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Message_over_64_KiB_is_rejected_as_oversize()
    {
        var result = Parse($"{{\"id\":\"x\",\"text\":\"{new string('a', JobMessageParser.MaxMessageBytes)}\"}}");

        Assert.Contains("the queue limit is 65536", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_naming_a_blob_is_a_claim_check_and_its_blob_is_parsed_by_the_same_contract_without_the_queue_limit()
    {
        var claim = Parse("""{"id":"big-1","blobUri":"https://acct.blob.core.windows.net/embedding-jobs/big-1.json"}""");

        Assert.True(claim.IsClaimCheck);
        Assert.False(claim.IsValid);
        Assert.Equal("big-1", claim.ClaimedId);
        var large = Encoding.UTF8.GetBytes($"{{\"id\":\"big-1\",\"text\":\"{new string('a', 3 * JobMessageParser.MaxMessageBytes)}\"}}");
        var job = Parser.ParseClaimed(large, claim.ClaimedId);
        Assert.True(job.IsValid, job.Error);
        Assert.Equal(3 * JobMessageParser.MaxMessageBytes, job.Job.Text!.Length);
    }

    [Fact]
    public void A_blob_may_not_name_another_blob_nor_hold_a_job_of_another_id()
    {
        Assert.Contains("must not name another blob", Parser.ParseClaimed("""{"id":"a","blobUri":"https://x/y"}"""u8.ToArray(), "a").Error, StringComparison.Ordinal);
        Assert.Contains("the blob holds job 'b', but the message names 'a'", Parser.ParseClaimed("""{"id":"b","text":"t"}"""u8.ToArray(), "a").Error, StringComparison.Ordinal);
        Assert.True(Parser.ParseClaimed("""{"id":"b","text":"t"}"""u8.ToArray(), null).IsValid);
    }
}
