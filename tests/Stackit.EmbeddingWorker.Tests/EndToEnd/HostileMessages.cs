using System.Text;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// Malformed and hostile queue messages, each with the words its poison reason must contain. Every one must
/// be poisoned with a reason the sending team can act on; none may crash the worker or make it allocate
/// beyond what the message size allows.
/// </summary>
internal static class HostileMessages
{
    public sealed record Hostile(string Name, string Body, string ExpectedReason);

    public static IReadOnlyList<Hostile> All { get; } = Build();

    private static List<Hostile> Build()
    {
        var list = new List<Hostile>();
        void Add(string name, string body, string reason) => list.Add(new Hostile(name, body, reason));
        static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        static string B64Bytes(byte[] bytes) => Convert.ToBase64String(bytes);

        // Not JSON at all, or broken JSON.
        Add("plain text", "this is not json", "neither JSON nor base64");
        Add("white space only", "   \n\t  ", "message is empty");
        Add("xml", "<job><id>x</id></job>", "neither JSON nor base64");
        Add("truncated object", """{"id": "x", "text": """, "not valid JSON");
        Add("truncated string", """{"id":"x","text":"unterminated""", "not valid JSON");
        Add("missing brace", """{"id":"x","text":"y" """, "not valid JSON");
        Add("trailing garbage", """{"id":"x","text":"y"}}""", "not valid JSON");
        Add("trailing comma", """{"id":"x","text":"y",}""", "not valid JSON");
        Add("comment", """{"id":"x", /* hi */ "text":"y"}""", "not valid JSON");
        Add("single quotes", "{'id':'x','text':'y'}", "not valid JSON");
        Add("NaN literal", """{"id":"x","text":"y","version":NaN}""", "not valid JSON");
        Add("unquoted key", """{id:"x","text":"y"}""", "not valid JSON");

        // Base64 that is not what it should be.
        Add("invalid base64", "eyJpZCI6InginvalidA!!!", "neither JSON nor base64");
        Add("base64 of an array", B64("[1,2,3]"), "not a JSON object");
        Add("base64 of plain text", B64("hello there"), "not a JSON object");
        Add("base64 of invalid UTF-8", B64Bytes([.. "{\"id\":\"x\",\"text\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8]), "not valid UTF-8");
        Add("base64 of truncated JSON", B64("""{"id":"x","text":"""), "not valid JSON");
        Add("base64 of overlong UTF-8", B64Bytes([.. "{\"id\":\""u8, 0xC0, 0xAF, .. "\",\"text\":\"y\"}"u8]), "not valid UTF-8");

        // Not an object.
        Add("array", "[1, 2, 3]", "must be a JSON object");
        Add("string", "\"just a string\"", "must be a JSON object");
        Add("null", "null", "must be a JSON object, not null");
        Add("number", "42", "must be a JSON object, not a number");
        Add("number that is also base64", "4711", "must be a JSON object, not a number");
        Add("boolean that is also base64", "true", "must be a JSON object, not a boolean");

        // The id.
        Add("no id", """{"text":"no id"}""", "'id' is required");
        Add("null id", """{"id":null,"text":"x"}""", "'id' is required");
        Add("numeric id", """{"id":42,"text":"x"}""", "'id' must be a string");
        Add("boolean id", """{"id":true,"text":"x"}""", "'id' must be a string");
        Add("object id", """{"id":{"a":1},"text":"x"}""", "'id' must be a string");
        Add("array id", """{"id":["a"],"text":"x"}""", "'id' must be a string");
        Add("empty id", """{"id":"","text":"x"}""", "'id' must not be empty");
        Add("blank id", """{"id":"   ","text":"x"}""", "'id' must not be empty");
        Add("id with an ANSI escape", "{\"id\":\"doc\\u001b[31m-1\",\"text\":\"x\"}", "control character U+001B");
        Add("id with a newline", "{\"id\":\"doc-1\\nforged\",\"text\":\"x\"}", "control character U+000A");
        Add("id with a bidi override", "{\"id\":\"doc\\u202e1\",\"text\":\"x\"}", "control character U+202E");
        Add("id of 513 characters", $$"""{"id":"{{new string('i', 513)}}","text":"x"}""", "at most 512");
        Add("id of 30000 characters", $$"""{"id":"{{new string('i', 30_000)}}","text":"x"}""", "at most 512");

        // The text and other fields of the wrong type.
        Add("no text", """{"id":"no-text"}""", "needs non-empty 'text'");
        Add("empty text", """{"id":"e","text":""}""", "needs non-empty 'text'");
        Add("white space text", """{"id":"ws","text":"   \n\t "}""", "needs non-empty 'text'");
        Add("numeric text", """{"id":"t","text":12}""", "'text' must be a string");
        Add("array text", """{"id":"t","text":["a","b"]}""", "'text' must be a string");
        Add("lone surrogate", """{"id":"s","text":"broken \uD800 text"}""", "not valid Unicode");
        Add("numeric title", """{"id":"t","text":"x","title":7}""", "'title' must be a string");
        Add("string metadata", """{"id":"m","text":"x","metadata":"lang=de"}""", "'metadata' must be a JSON object");
        Add("array metadata", """{"id":"m","text":"x","metadata":[1]}""", "'metadata' must be a JSON object");
        Add("string version", """{"id":"v","text":"x","version":"17"}""", "'version' must be a whole number");
        Add("negative version", """{"id":"v","text":"x","version":-1}""", "'version' must be a whole number");
        Add("fractional version", """{"id":"v","text":"x","version":1.5}""", "'version' must be a whole number");
        Add("huge version", """{"id":"v","text":"x","version":1e40}""", "'version' must be a whole number");
        Add("version in exponent form", """{"id":"v","text":"x","version":1e2}""", "without a fraction or exponent");
        Add("version above 2^53 - 1", """{"id":"v","text":"x","version":9007199254740992}""", "from 0 to 9007199254740991");

        // Nesting and size.
        Add("deeply nested metadata", $$"""{"id":"d","text":"x","metadata":{{string.Concat(Enumerable.Repeat("{\"a\":", 40))}}1{{new string('}', 40)}}}""", "nested too deep");
        Add("deeply nested array", new string('[', 5_000) + new string(']', 5_000), "nested too deep");
        Add("huge text array", $$"""{"id":"h","text":[{{string.Join(",", Enumerable.Repeat("\"w\"", 5_000))}}]}""", "'text' must be a string");
        Add("huge image array", $$"""{"id":"h","images":[{{string.Join(",", Enumerable.Repeat("\"x\"", 5_000))}}]}""", "at most 16 are allowed");

        // Collections and images: nothing from a message decides where the worker writes or what it fetches.
        Add("disallowed collection", """{"id":"c","collection":"secret","text":"x"}""", "not in Qdrant:AllowedCollections");
        Add("path-like collection", """{"id":"c","collection":"../documents","text":"x"}""", "not in Qdrant:AllowedCollections");
        Add("numeric collection", """{"id":"c","collection":5,"text":"x"}""", "'collection' must be a string");
        Add("http image", """{"id":"img","images":["http://example.invalid/a.png"]}""", "never fetched");
        Add("https image", """{"id":"img","text":"x","images":["https://example.invalid/a.png"]}""", "never fetched");
        Add("file image", """{"id":"img","images":["file:///etc/passwd"]}""", "never fetched");
        Add("non-image data URI", """{"id":"img","images":["data:text/plain;base64,aGVsbG8="]}""", "image type");
        Add("image data not base64", """{"id":"img","images":["data:image/png;base64,!!!notbase64"]}""", "not valid base64");
        Add("image without data", """{"id":"img","images":["data:image/png;base64,"]}""", "not valid base64");
        Add("images not an array", """{"id":"img","images":"data:image/png;base64,aGVsbG8="}""", "'images' must be an array");
        Add("images of numbers", """{"id":"img","images":[1,2]}""", "'images' must hold only strings");

        // Operations and duplicate keys.
        Add("unknown op", """{"id":"o","op":"merge","text":"x"}""", "'op' is 'merge'");
        Add("upper-case op", """{"id":"o","op":"UPSERT","text":"x"}""", "'op' is 'UPSERT'");
        Add("numeric op", """{"id":"o","op":1,"text":"x"}""", "'op' must be a string");
        Add("duplicate id", """{"id":"dup","id":"dup2","text":"x"}""", "'id' appears more than once");
        Add("duplicate text", """{"id":"dup","text":"a","text":"b"}""", "'text' appears more than once");
        Add("nested duplicate", """{"id":"dup","text":"a","metadata":{"k":1,"k":2}}""", "'metadata.k' appears more than once");
        Add("case-variant keys are not the id", """{"ID":"x","Id":"y","text":"z"}""", "'id' is required");
        return list;
    }
}
