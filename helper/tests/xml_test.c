// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for xml.c: S3 response bodies as AWS, RGW and s3rver send
 * them, truncated and malformed input, and the request body builders
 * checked by parsing their output back with libxml2.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xml.h"
#include "tests/check.h"

/* A string literal as (body, len). */
#define BODY(s)	(s), strlen(s)

/* AWS ListObjectsV2, namespace, &quot; ETags, a common prefix. */
static const char aws_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>example-bucket</Name><Prefix></Prefix><KeyCount>3</KeyCount>"
	"<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
	"<IsTruncated>false</IsTruncated>"
	"<Contents><Key>ExampleObject.txt</Key>"
	"<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
	"<ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>"
	"<Size>857</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>big.bin</Key>"
	"<LastModified>2023-02-28T23:59:59.123Z</LastModified>"
	"<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
	"<Size>5368709120</Size><Owner><ID>abc</ID>"
	"<DisplayName>me</DisplayName></Owner>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>"
	"</ListBucketResult>\n";

/* RGW: namespace, Type element, ETag with literal quotes. */
static const char rgw_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bkt</Name><Prefix>dir/</Prefix><MaxKeys>1000</MaxKeys>"
	"<IsTruncated>false</IsTruncated>"
	"<Contents><Key>dir/a.txt</Key>"
	"<LastModified>2023-03-01T10:00:00.5Z</LastModified>"
	"<ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>"
	"<Size>0</Size><StorageClass>STANDARD</StorageClass>"
	"<Owner><ID>tester</ID><DisplayName>Tester</DisplayName></Owner>"
	"<Type>Normal</Type></Contents><KeyCount>1</KeyCount>"
	"</ListBucketResult>";

/* s3rver-like: no namespace, pretty printed. */
static const char plain_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult>\n"
	"  <IsTruncated>false</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>notes/todo.md</Key>\n"
	"    <LastModified>2017-06-20T19:30:18.000Z</LastModified>\n"
	"    <ETag>\"c4ca4238a0b923820dcc509a6f75849b\"</ETag>\n"
	"    <Size>1</Size>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"  </Contents>\n"
	"  <CommonPrefixes>\n"
	"    <Prefix>notes/old/</Prefix>\n"
	"  </CommonPrefixes>\n"
	"  <CommonPrefixes>\n"
	"    <Prefix>notes/new/</Prefix>\n"
	"  </CommonPrefixes>\n"
	"  <Name>bucket</Name>\n"
	"  <Prefix>notes/</Prefix>\n"
	"  <MaxKeys>1000</MaxKeys>\n"
	"  <KeyCount>3</KeyCount>\n"
	"</ListBucketResult>\n";

static const char empty_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix>nothing/</Prefix><KeyCount>0</KeyCount>"
	"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
	"</ListBucketResult>";

static const char truncated_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
	"<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
	"<Contents><Key>a</Key><LastModified>2020-01-01T00:00:00.000Z"
	"</LastModified><ETag>&quot;x&quot;</ETag><Size>1</Size></Contents>"
	"<ContinuationToken>prev</ContinuationToken>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	"</NextContinuationToken></ListBucketResult>";

/* EncodingType=url, after the entries as AWS orders it. */
static const char url_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix></Prefix><KeyCount>6</KeyCount>"
	"<MaxKeys>1000</MaxKeys><Delimiter>%2F</Delimiter>"
	"<IsTruncated>false</IsTruncated>"
	"<Contents><Key>a%20b</Key><Size>1</Size></Contents>"
	"<Contents><Key>c%2Bd</Key><Size>2</Size></Contents>"
	"<Contents><Key>caf%C3%A9+%E2%98%83</Key><Size>3</Size></Contents>"
	"<Contents><Key>x%26y%3Cz%3E</Key><Size>4</Size></Contents>"
	"<Contents><Key>plus+means+space</Key><Size>5</Size></Contents>"
	"<Contents><Key>100%25</Key><Size>6</Size></Contents>"
	"<CommonPrefixes><Prefix>dir%20one%2F</Prefix></CommonPrefixes>"
	"<EncodingType>url</EncodingType></ListBucketResult>";

static const char error_nosuchkey[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Error><Code>NoSuchKey</Code>"
	"<Message>The resource you requested does not exist</Message>"
	"<Resource>/mybucket/myfoto.jpg</Resource>"
	"<RequestId>4442587FB7D0A2F9</RequestId>"
	"<HostId>eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran"
	"</HostId></Error>";

static const char error_signature[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Error><Code>SignatureDoesNotMatch</Code>"
	"<Message>The request signature we calculated does not match the "
	"signature you provided. Check your key and signing method.</Message>"
	"<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId>"
	"<StringToSign>AWS4-HMAC-SHA256\n20230301T000000Z\n"
	"20230301/us-east-1/s3/aws4_request\nabc</StringToSign>"
	"<SignatureProvided>deadbeef</SignatureProvided>"
	"<StringToSignBytes>41 57 53</StringToSignBytes>"
	"<CanonicalRequest>GET\n/\n\nhost:x\n\nhost\nUNSIGNED-PAYLOAD"
	"</CanonicalRequest><CanonicalRequestBytes>47 45 54"
	"</CanonicalRequestBytes>"
	"<RequestId>TX000000000000000000001-0063ff0000-1234-default</RequestId>"
	"<HostId>1234-default-default</HostId></Error>";

static const char initiate_body[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<InitiateMultipartUploadResult "
	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Bucket>example-bucket</Bucket><Key>example-object</Key>"
	"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
	"</UploadId></InitiateMultipartUploadResult>";

static const char complete_body[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<CompleteMultipartUploadResult "
	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Location>http://Example-Bucket.s3.amazonaws.com/Example-Object"
	"</Location><Bucket>Example-Bucket</Bucket><Key>Example-Object</Key>"
	"<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
	"</CompleteMultipartUploadResult>";

/* 200 OK after keep-alive spaces, then an error. */
static const char complete_error_body[] =
	"          \n"
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<Error><Code>InternalError</Code><Message>We encountered an internal "
	"error. Please try again.</Message>"
	"<RequestId>656c76696e6727732072657175657374</RequestId>"
	"<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>"
	"</Error>";

static const char copy_object_body[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
	"<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
	"</CopyObjectResult>";

static const char copy_part_body[] =
	"<CopyPartResult><LastModified>2011-04-11T20:34:56.000Z</LastModified>"
	"<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyPartResult>";

static int parse_list_str(const char *body, struct s3_list_result *res)
{
	return s3_xml_parse_list(body, strlen(body), res);
}

static void test_list_aws(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str(aws_list, &res);
	CHECK("xml list aws parses", ret == 0, "ret %d", ret);
	if (ret)
		return;
	CHECK("xml list aws counts", res.nentries == 2 && res.nprefixes == 1,
	      "%zu entries %zu prefixes", res.nentries, res.nprefixes);
	CHECK("xml list aws not truncated", !res.truncated && !res.next_token,
	      "truncated %d token %p", res.truncated, (void *)res.next_token);
	if (res.nentries == 2 && res.nprefixes == 1) {
		CHECK_STREQ("xml list aws key", res.entries[0].key,
			    "ExampleObject.txt");
		CHECK("xml list aws size", res.entries[0].size == 857,
		      "%llu", (unsigned long long)res.entries[0].size);
		CHECK_STREQ("xml list aws etag &quot; stripped",
			    res.entries[0].etag,
			    "599bab3ed2c697f1d26842727561fd94");
		CHECK("xml list aws mtime",
		      res.entries[0].last_modified.tv_sec == 1255369830 &&
		      res.entries[0].last_modified.tv_nsec == 0,
		      "%lld.%09ld",
		      (long long)res.entries[0].last_modified.tv_sec,
		      res.entries[0].last_modified.tv_nsec);
		CHECK("xml list aws size above 4 GiB",
		      res.entries[1].size == 5368709120ULL, "%llu",
		      (unsigned long long)res.entries[1].size);
		CHECK_STREQ("xml list aws multipart etag", res.entries[1].etag,
			    "3858f62230ac3c915f300c664312c11f-9");
		/* date -u -d 2023-02-28T23:59:59Z +%s */
		CHECK("xml list aws mtime fraction",
		      res.entries[1].last_modified.tv_sec == 1677628799 &&
		      res.entries[1].last_modified.tv_nsec == 123000000,
		      "%lld.%09ld",
		      (long long)res.entries[1].last_modified.tv_sec,
		      res.entries[1].last_modified.tv_nsec);
		CHECK_STREQ("xml list aws common prefix", res.prefixes[0],
			    "photos/");
	}
	s3_list_result_free(&res);
	CHECK("xml list free zeroes", !res.entries && !res.nentries &&
	      !res.prefixes && !res.next_token, "not zeroed");
}

static void test_list_rgw(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str(rgw_list, &res);
	CHECK("xml list rgw parses", ret == 0 && res.nentries == 1 &&
	      res.nprefixes == 0, "ret %d, %zu entries", ret, res.nentries);
	if (!ret && res.nentries == 1) {
		CHECK_STREQ("xml list rgw key", res.entries[0].key,
			    "dir/a.txt");
		CHECK("xml list rgw empty object", res.entries[0].size == 0,
		      "%llu", (unsigned long long)res.entries[0].size);
		CHECK_STREQ("xml list rgw etag quotes stripped",
			    res.entries[0].etag,
			    "d41d8cd98f00b204e9800998ecf8427e");
		CHECK("xml list rgw one-digit fraction",
		      res.entries[0].last_modified.tv_nsec == 500000000,
		      "%ld", res.entries[0].last_modified.tv_nsec);
	}
	s3_list_result_free(&res);
}

static void test_list_plain(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str(plain_list, &res);
	CHECK("xml list no namespace parses", ret == 0 && res.nentries == 1 &&
	      res.nprefixes == 2, "ret %d, %zu entries, %zu prefixes", ret,
	      res.nentries, res.nprefixes);
	if (!ret && res.nentries == 1 && res.nprefixes == 2) {
		CHECK_STREQ("xml list no namespace key", res.entries[0].key,
			    "notes/todo.md");
		CHECK_STREQ("xml list no namespace prefix 1", res.prefixes[0],
			    "notes/old/");
		CHECK_STREQ("xml list no namespace prefix 2", res.prefixes[1],
			    "notes/new/");
	}
	s3_list_result_free(&res);
}

static void test_list_empty(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str(empty_list, &res);
	CHECK("xml list empty", ret == 0 && res.nentries == 0 &&
	      !res.entries && res.nprefixes == 0 && !res.prefixes &&
	      !res.truncated && !res.next_token,
	      "ret %d, %zu entries", ret, res.nentries);
	s3_list_result_free(&res);
}

static void test_list_truncated(void)
{
	struct s3_list_result res;
	char *body;
	int ret;

	ret = parse_list_str(truncated_list, &res);
	CHECK("xml list truncated", ret == 0 && res.truncated &&
	      res.nentries == 1, "ret %d truncated %d", ret, res.truncated);
	CHECK_STREQ("xml list truncated token", res.next_token,
		    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	s3_list_result_free(&res);

	body = strdup(truncated_list);
	memcpy(strstr(body, "<NextContinuationToken>") + 1, "Xext", 4);
	memcpy(strstr(body, "</NextContinuationToken>") + 2, "Xext", 4);
	ret = parse_list_str(body, &res);
	CHECK("xml list truncated without token", ret == -EBADMSG &&
	      !res.entries && !res.nentries, "ret %d", ret);
	free(body);

	ret = parse_list_str(
		"<ListBucketResult><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken></NextContinuationToken>"
		"</ListBucketResult>", &res);
	CHECK("xml list truncated empty token", ret == -EBADMSG, "ret %d",
	      ret);
	ret = parse_list_str(
		"<ListBucketResult><IsTruncated>maybe</IsTruncated>"
		"</ListBucketResult>", &res);
	CHECK("xml list bad IsTruncated", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str(
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<NextContinuationToken>t</NextContinuationToken>"
		"</ListBucketResult>", &res);
	CHECK("xml list token ignored when not truncated",
	      ret == 0 && !res.next_token, "ret %d", ret);
	s3_list_result_free(&res);
}

static void test_list_url(void)
{
	static const char *const want[] = {
		"a b", "c+d", "caf\xc3\xa9 \xe2\x98\x83", "x&y<z>",
		"plus means space", "100%",
	};
	struct s3_list_result res;
	char name[64];
	size_t i;
	int ret;

	ret = parse_list_str(url_list, &res);
	CHECK("xml list url parses", ret == 0 && res.nentries == 6 &&
	      res.nprefixes == 1, "ret %d, %zu entries", ret, res.nentries);
	if (!ret && res.nentries == 6 && res.nprefixes == 1) {
		for (i = 0; i < 6; i++) {
			snprintf(name, sizeof(name), "xml list url key %zu", i);
			CHECK_STREQ(name, res.entries[i].key, want[i]);
		}
		CHECK_STREQ("xml list url prefix", res.prefixes[0],
			    "dir one/");
	}
	s3_list_result_free(&res);

	ret = parse_list_str(
		"<ListBucketResult><Contents><Key>a%20b+c</Key><Size>1</Size>"
		"</Contents></ListBucketResult>", &res);
	CHECK("xml list without EncodingType is literal",
	      ret == 0 && res.nentries == 1 &&
	      !strcmp(res.entries[0].key, "a%20b+c"), "ret %d", ret);
	s3_list_result_free(&res);

	ret = parse_list_str(
		"<ListBucketResult><EncodingType>url</EncodingType><Contents>"
		"<Key>bad%zzescape</Key><Size>1</Size></Contents>"
		"</ListBucketResult>", &res);
	CHECK("xml list url bad escape", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str(
		"<ListBucketResult><EncodingType>url</EncodingType><Contents>"
		"<Key>nul%00byte</Key><Size>1</Size></Contents>"
		"</ListBucketResult>", &res);
	CHECK("xml list url %00", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str(
		"<ListBucketResult><EncodingType>url</EncodingType><Contents>"
		"<Key>cut%4</Key><Size>1</Size></Contents>"
		"</ListBucketResult>", &res);
	CHECK("xml list url cut escape", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str(
		"<ListBucketResult><EncodingType>base64</EncodingType>"
		"</ListBucketResult>", &res);
	CHECK("xml list unknown EncodingType", ret == -EBADMSG, "ret %d",
	      ret);
}

/* Keys straight from the XML: &amp; &lt; and UTF-8, no encoding. */
static void test_list_special_keys(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str(
		"<ListBucketResult><Contents><Key>a &amp; b &lt;c&gt; "
		"\xe2\x82\xac &#x1F600; </Key><Size>1</Size></Contents>"
		"<Contents><Key><![CDATA[x<y]]></Key><Size>2</Size></Contents>"
		"</ListBucketResult>", &res);
	CHECK("xml list entity keys", ret == 0 && res.nentries == 2, "ret %d",
	      ret);
	if (!ret && res.nentries == 2) {
		CHECK_STREQ("xml list entity key text", res.entries[0].key,
			    "a & b <c> \xe2\x82\xac \xf0\x9f\x98\x80 ");
		CHECK_STREQ("xml list cdata key", res.entries[1].key, "x<y");
	}
	s3_list_result_free(&res);
}

static int list_one(const char *size, const char *mtime,
		    struct s3_list_result *res)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "<ListBucketResult><Contents><Key>k</Key>%s%s%s%s%s%s"
		 "</Contents></ListBucketResult>",
		 size ? "<Size>" : "", size ? size : "", size ? "</Size>" : "",
		 mtime ? "<LastModified>" : "", mtime ? mtime : "",
		 mtime ? "</LastModified>" : "");
	return parse_list_str(body, res);
}

static void test_list_numbers(void)
{
	static const char *const bad[] = {
		"abc", "-1", "", "+5", "1.5", "0x10", "12abc", "1 2",
		"18446744073709551616", "9223372036854775808",
		"99999999999999999999999999",
	};
	struct s3_list_result res;
	char name[96];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = list_one(bad[i], NULL, &res);
		snprintf(name, sizeof(name), "xml list bad size \"%s\"",
			 bad[i]);
		CHECK(name, ret == -EBADMSG && !res.entries && !res.nentries,
		      "ret %d", ret);
	}
	ret = list_one("9223372036854775807", NULL, &res);
	CHECK("xml list size INT64_MAX", ret == 0 &&
	      res.entries[0].size == 9223372036854775807ULL, "ret %d", ret);
	s3_list_result_free(&res);
	ret = list_one(" 42\n", NULL, &res);
	CHECK("xml list size with white space", ret == 0 &&
	      res.entries[0].size == 42, "ret %d", ret);
	s3_list_result_free(&res);
	ret = list_one(NULL, NULL, &res);
	CHECK("xml list missing size", ret == -EBADMSG, "ret %d", ret);
}

static void test_list_times(void)
{
	static const char *const bad[] = {
		"yesterday", "2009-13-01T00:00:00Z", "2009-02-29T00:00:00Z",
		"2009-10-12 17:50:30Z", "2009-10-12T24:00:00Z",
		"2009-10-12T17:50:30.Z", "2009-10-12T17:50:30+25:00",
		"2009-10-12T17:50", "2009-10-12T17:50:30ZZ", "",
	};
	struct s3_list_result res;
	char name[96];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = list_one("1", bad[i], &res);
		snprintf(name, sizeof(name), "xml list bad time \"%s\"",
			 bad[i]);
		CHECK(name, ret == -EBADMSG, "ret %d", ret);
	}
	ret = list_one("1", "2009-10-12T19:50:30+02:00", &res);
	CHECK("xml list time offset", ret == 0 &&
	      res.entries[0].last_modified.tv_sec == 1255369830, "ret %d",
	      ret);
	s3_list_result_free(&res);
	ret = list_one("1", "2009-10-12T17:50:30.123456789123Z", &res);
	CHECK("xml list time nanoseconds", ret == 0 &&
	      res.entries[0].last_modified.tv_sec == 1255369830 &&
	      res.entries[0].last_modified.tv_nsec == 123456789, "ret %d",
	      ret);
	s3_list_result_free(&res);
	ret = list_one("1", "2024-02-29T00:00:00Z", &res);
	CHECK("xml list time leap day, no fraction", ret == 0 &&
	      res.entries[0].last_modified.tv_sec == 1709164800, "ret %d",
	      ret);
	s3_list_result_free(&res);
}

static void test_list_structure(void)
{
	struct s3_list_result res;
	int ret;

	ret = parse_list_str("<ListBucketResult><Contents><Size>1</Size>"
			     "</Contents></ListBucketResult>", &res);
	CHECK("xml list missing key", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str("<ListBucketResult><Contents><Key></Key>"
			     "<Size>1</Size></Contents></ListBucketResult>",
			     &res);
	CHECK("xml list empty key", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str("<ListBucketResult><Contents><Key>a</Key>"
			     "<Key>b</Key><Size>1</Size></Contents>"
			     "</ListBucketResult>", &res);
	CHECK("xml list duplicate key", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str("<ListBucketResult><Contents><Key>a<b/></Key>"
			     "<Size>1</Size></Contents></ListBucketResult>",
			     &res);
	CHECK("xml list element inside key", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str("<ListBucketResult><Contents><Key>a</Key>"
			     "<Size>1</Size></Contents><Contents><Key>b</Key>"
			     "<Size>x</Size></Contents></ListBucketResult>",
			     &res);
	CHECK("xml list second entry bad frees first",
	      ret == -EBADMSG && !res.entries, "ret %d", ret);
	ret = parse_list_str("<ListBucketResult><CommonPrefixes>"
			     "</CommonPrefixes></ListBucketResult>", &res);
	CHECK("xml list empty CommonPrefixes", ret == -EBADMSG, "ret %d",
	      ret);
	ret = parse_list_str("<ListBucketResult><Contents><Key>a</Key>"
			     "<Size>1</Size><ETag>&quot;" "0123456789"
			     "0123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789"
			     "&quot;</ETag></Contents></ListBucketResult>",
			     &res);
	CHECK("xml list etag too long", ret == -EBADMSG, "ret %d", ret);
	ret = parse_list_str(error_nosuchkey, &res);
	CHECK("xml list given an Error document", ret == -EBADMSG, "ret %d",
	      ret);
}

/*
 * Every prefix of a document shorter than its root's end tag must be
 * refused and leave nothing allocated; longer ones parse the same.
 */
static void truncation_loop(const char *what, const char *body)
{
	size_t full = strlen(body), end, len, bad = 0, first_bad = 0;
	struct s3_list_result res;
	char name[96];
	char *copy;
	int ret;

	end = strrchr(body, '>') - body + 1;
	for (len = 0; len <= full; len++) {
		/* a copy of exactly len bytes, so valgrind sees overruns */
		copy = malloc(len ? len : 1);
		memcpy(copy, body, len);
		ret = s3_xml_parse_list(copy, len, &res);
		if (len < end ? ret != -EBADMSG || res.entries ||
				res.prefixes || res.next_token : ret != 0) {
			if (!bad++)
				first_bad = len;
		}
		s3_list_result_free(&res);
		free(copy);
	}
	snprintf(name, sizeof(name), "xml list every truncation of %s", what);
	CHECK(name, !bad, "%zu bad lengths, first %zu of %zu", bad, first_bad,
	      full);
}

static void truncation_loop_error(void)
{
	size_t full = strlen(error_signature), len, bad = 0;
	struct s3_error_info err;
	char etag[S3_ETAG_MAX];
	char *copy;
	int ret, ret2;

	for (len = 0; len < full; len++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, error_signature, len);
		ret = s3_xml_parse_error(copy, len, &err);
		ret2 = s3_xml_parse_complete(copy, len, etag, &err);
		bad += ret != -EBADMSG || ret2 != -EBADMSG || err.code;
		s3_error_info_free(&err);
		free(copy);
	}
	CHECK("xml error every truncation", !bad, "%zu bad lengths", bad);

	full = strlen(complete_body);
	for (len = 0; len < full; len++) {
		ret = s3_xml_parse_complete(complete_body, len, etag, NULL);
		bad += ret != -EBADMSG || etag[0];
	}
	CHECK("xml complete every truncation", !bad, "%zu bad lengths", bad);
}

static void test_truncation(void)
{
	truncation_loop("aws body", aws_list);
	truncation_loop("url body", url_list);
	truncation_loop("pretty body", plain_list);
	truncation_loop_error();
}

static void test_malformed(void)
{
	static const char *const bodies[] = {
		"",
		"   \n  ",
		"not xml at all",
		"<ListBucketResult>",
		"<ListBucketResult></ListBucket>",
		"<ListBucketResult><Contents></ListBucketResult>",
		"<ListBucketResult/><ListBucketResult/>",
		"<ListBucketResult/>trailing",
		"<?xml version=\"1.0\"?>",
		"<ListBucketResult>&undefined;</ListBucketResult>",
		"<ListBucketResult a=\"1\" a=\"2\"/>",
		"<?xml version=\"1.0\" encoding=\"NO-SUCH-CHARSET\"?>"
		"<ListBucketResult/>",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult><Name>\xff\xfe</Name></ListBucketResult>",
		"<ListBucketResult>\x01</ListBucketResult>",
		/* DTDs are refused: no entity is expanded, none loaded */
		"<!DOCTYPE ListBucketResult [<!ENTITY a \"b\">]>"
		"<ListBucketResult/>",
		"<!DOCTYPE ListBucketResult [<!ENTITY x SYSTEM "
		"\"file:///etc/passwd\">]><ListBucketResult><Contents><Key>&x;"
		"</Key><Size>1</Size></Contents></ListBucketResult>",
		"<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
		"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
		"<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
		"<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
		"<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
		"<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">"
		"<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>"
		"<ListBucketResult><Contents><Key>&i;</Key><Size>1</Size>"
		"</Contents></ListBucketResult>",
		"<!DOCTYPE ListBucketResult SYSTEM \"http://127.0.0.1:1/x.dtd\">"
		"<ListBucketResult/>",
	};
	struct s3_list_result res;
	struct s3_error_info err;
	char etag[S3_ETAG_MAX];
	char *upload_id;
	size_t i, bad = 0, n = sizeof(bodies) / sizeof(bodies[0]);
	int ret;

	for (i = 0; i < n; i++) {
		ret = parse_list_str(bodies[i], &res);
		if (ret != -EBADMSG) {
			printf("  malformed body %zu: list ret %d\n", i, ret);
			bad++;
		}
		s3_list_result_free(&res);
		bad += s3_xml_parse_error(bodies[i], strlen(bodies[i]),
					  &err) != -EBADMSG;
		bad += s3_xml_parse_initiate(bodies[i], strlen(bodies[i]),
					     &upload_id) != -EBADMSG;
		bad += s3_xml_parse_complete(bodies[i], strlen(bodies[i]),
					     etag, &err) != -EBADMSG;
		bad += s3_xml_parse_copy(bodies[i], strlen(bodies[i]),
					 etag) != -EBADMSG;
	}
	CHECK("xml malformed bodies refused by every parser", !bad,
	      "%zu failures", bad);
	ret = s3_xml_parse_list(NULL, 0, &res);
	CHECK("xml list NULL body", ret == -EBADMSG, "ret %d", ret);
	ret = s3_xml_parse_list(empty_list, 20, &res);
	CHECK("xml list length shorter than string", ret == -EBADMSG,
	      "ret %d", ret);
}

static void test_error(void)
{
	struct s3_error_info err;
	int ret;

	ret = s3_xml_parse_error(error_nosuchkey, strlen(error_nosuchkey),
				 &err);
	CHECK("xml error NoSuchKey parses", ret == 0, "ret %d", ret);
	CHECK_STREQ("xml error NoSuchKey code", err.code, "NoSuchKey");
	CHECK_STREQ("xml error NoSuchKey message", err.message,
		    "The resource you requested does not exist");
	CHECK_STREQ("xml error NoSuchKey resource", err.resource,
		    "/mybucket/myfoto.jpg");
	CHECK_STREQ("xml error NoSuchKey request id", err.request_id,
		    "4442587FB7D0A2F9");
	s3_error_info_free(&err);
	CHECK("xml error free zeroes", !err.code && !err.message,
	      "not zeroed");

	ret = s3_xml_parse_error(error_signature, strlen(error_signature),
				 &err);
	CHECK("xml error SignatureDoesNotMatch parses", ret == 0, "ret %d",
	      ret);
	CHECK_STREQ("xml error SignatureDoesNotMatch code", err.code,
		    "SignatureDoesNotMatch");
	CHECK_STREQ("xml error SignatureDoesNotMatch request id",
		    err.request_id,
		    "TX000000000000000000001-0063ff0000-1234-default");
	CHECK("xml error SignatureDoesNotMatch no resource", !err.resource,
	      "got %s", err.resource);
	s3_error_info_free(&err);

	ret = s3_xml_parse_error(BODY("<Error xmlns=\"urn:other\"><Code>"
				      "SlowDown</Code></Error>"), &err);
	CHECK("xml error code only", ret == 0 && err.code &&
	      !strcmp(err.code, "SlowDown") && !err.message &&
	      !err.request_id, "ret %d", ret);
	s3_error_info_free(&err);

	ret = s3_xml_parse_error(complete_body, strlen(complete_body), &err);
	CHECK("xml error given a result document", ret == -EBADMSG &&
	      !err.code, "ret %d", ret);
}

static void test_initiate(void)
{
	char *upload_id;
	int ret;

	ret = s3_xml_parse_initiate(initiate_body, strlen(initiate_body),
				    &upload_id);
	CHECK("xml initiate parses", ret == 0, "ret %d", ret);
	CHECK_STREQ("xml initiate upload id", upload_id,
		    "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
	free(upload_id);

	ret = s3_xml_parse_initiate(BODY("<InitiateMultipartUploadResult>"
					 "<Bucket>b</Bucket>"
					 "</InitiateMultipartUploadResult>"),
				    &upload_id);
	CHECK("xml initiate missing upload id", ret == -EBADMSG && !upload_id,
	      "ret %d", ret);
	ret = s3_xml_parse_initiate(error_nosuchkey, strlen(error_nosuchkey),
				    &upload_id);
	CHECK("xml initiate given an Error", ret == -EBADMSG && !upload_id,
	      "ret %d", ret);
}

static void test_complete(void)
{
	struct s3_error_info err;
	char etag[S3_ETAG_MAX];
	char *body;
	int ret;

	ret = s3_xml_parse_complete(complete_body, strlen(complete_body),
				    etag, &err);
	CHECK("xml complete parses", ret == 0 && !err.code, "ret %d", ret);
	CHECK("xml complete etag",
	      !strcmp(etag, "3858f62230ac3c915f300c664312c11f-9"), "got %s",
	      etag);

	if (asprintf(&body, "   \n   %s", complete_body) < 0)
		return;
	ret = s3_xml_parse_complete(body, strlen(body), etag, NULL);
	CHECK("xml complete after keep-alive spaces", ret == 0 &&
	      !strcmp(etag, "3858f62230ac3c915f300c664312c11f-9"), "ret %d",
	      ret);
	free(body);

	ret = s3_xml_parse_complete(complete_error_body,
				    strlen(complete_error_body), etag, &err);
	CHECK("xml complete with embedded Error", ret == -EREMOTEIO &&
	      !etag[0], "ret %d", ret);
	CHECK_STREQ("xml complete embedded Error code", err.code,
		    "InternalError");
	CHECK_STREQ("xml complete embedded Error request id", err.request_id,
		    "656c76696e6727732072657175657374");
	s3_error_info_free(&err);

	ret = s3_xml_parse_complete(complete_error_body,
				    strlen(complete_error_body), etag, NULL);
	CHECK("xml complete embedded Error, no err struct",
	      ret == -EREMOTEIO, "ret %d", ret);

	ret = s3_xml_parse_complete(BODY("<CompleteMultipartUploadResult>"
					 "<Key>k</Key>"
					 "</CompleteMultipartUploadResult>"),
				    etag, &err);
	/* RGW sends no ETag in the Complete result: the caller HEADs */
	CHECK("xml complete missing etag is empty, not an error (RGW)",
	      ret == 0 && !etag[0] && !err.code, "ret %d", ret);
	ret = s3_xml_parse_complete(BODY("<CompleteMultipartUploadResult>"
					 "<ETag>&quot;&quot;</ETag>"
					 "</CompleteMultipartUploadResult>"),
				    etag, &err);
	CHECK("xml complete empty etag is empty, not an error (RGW)",
	      ret == 0 && !etag[0], "ret %d", ret);
	ret = s3_xml_parse_copy(BODY("<CopyObjectResult>"
				     "<ETag>&quot;&quot;</ETag>"
				     "</CopyObjectResult>"), etag);
	CHECK("xml copy empty etag is malformed", ret == -EBADMSG, "ret %d", ret);
}

static void test_copy(void)
{
	char etag[S3_ETAG_MAX];
	int ret;

	ret = s3_xml_parse_copy(copy_object_body, strlen(copy_object_body),
				etag);
	CHECK("xml copy object", ret == 0 &&
	      !strcmp(etag, "9b2cf535f27731c974343645a3985328"),
	      "ret %d etag %s", ret, etag);
	ret = s3_xml_parse_copy(copy_part_body, strlen(copy_part_body), etag);
	CHECK("xml copy part", ret == 0 &&
	      !strcmp(etag, "9b2cf535f27731c974343645a3985328"),
	      "ret %d etag %s", ret, etag);
	ret = s3_xml_parse_copy(complete_error_body,
				strlen(complete_error_body), etag);
	CHECK("xml copy with embedded Error", ret == -EREMOTEIO && !etag[0],
	      "ret %d", ret);
	ret = s3_xml_parse_copy(initiate_body, strlen(initiate_body), etag);
	CHECK("xml copy given another result", ret == -EBADMSG, "ret %d",
	      ret);
}

/* ---- builders, checked by parsing their output with libxml2 ---- */

static const xmlNode *child(const xmlNode *node, const char *name)
{
	const xmlNode *c;

	for (c = node ? node->children : NULL; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)c->name, name))
			return c;
	}
	return NULL;
}

static bool text_is(const xmlNode *node, const char *want)
{
	xmlChar *got;
	bool same;

	if (!node)
		return false;
	got = xmlNodeGetContent(node);
	same = got && !strcmp((const char *)got, want);
	xmlFree(got);
	return same;
}

static xmlDoc *read_back(const char *body, const char *root)
{
	xmlDoc *doc;
	xmlNode *r;

	if (!body)
		return NULL;
	doc = xmlReadMemory(body, (int)strlen(body), NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING);
	r = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!r || strcmp((const char *)r->name, root) || !r->ns ||
	    strcmp((const char *)r->ns->href,
		   "http://s3.amazonaws.com/doc/2006-03-01/")) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static void test_build_complete(void)
{
	struct s3_part parts[3] = {
		{ 1, "3858f62230ac3c915f300c664312c11f" },
		{ 2, "a&b<c>\"d'" },
		{ 10000, "ffffffffffffffffffffffffffffffff" },
	};
	const xmlNode *part;
	char num[8], want[S3_ETAG_MAX + 2];
	size_t i, bad = 0;
	xmlDoc *doc;
	char *body;

	body = s3_xml_build_complete(parts, 3);
	doc = read_back(body, "CompleteMultipartUpload");
	CHECK("xml build complete parses back", doc != NULL, "body %s",
	      body ? body : "(null)");
	part = doc ? child(xmlDocGetRootElement(doc), "Part") : NULL;
	for (i = 0; i < 3; i++) {
		while (part && part->type != XML_ELEMENT_NODE)
			part = part->next;
		snprintf(num, sizeof(num), "%d", parts[i].number);
		snprintf(want, sizeof(want), "\"%s\"", parts[i].etag);
		bad += !text_is(child(part, "PartNumber"), num);
		bad += !text_is(child(part, "ETag"), want);
		part = part ? part->next : NULL;
	}
	CHECK("xml build complete round trip", !bad && !part,
	      "%zu mismatches", bad);
	xmlFreeDoc(doc);
	free(body);

	parts[1].number = 1;
	errno = 0;
	body = s3_xml_build_complete(parts, 3);
	CHECK("xml build complete unsorted parts", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
	parts[1].number = 2;
	parts[2].number = 10001;
	body = s3_xml_build_complete(parts, 3);
	CHECK("xml build complete part 10001", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
	body = s3_xml_build_complete(parts, 0);
	CHECK("xml build complete no parts", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
	parts[0].etag[0] = '\0';
	parts[2].number = 3;
	body = s3_xml_build_complete(parts, 3);
	CHECK("xml build complete empty etag", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
}

static bool delete_matches(const xmlDoc *doc, const char *const *keys,
			   size_t nkeys, bool quiet)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *c;
	size_t i = 0;

	if (quiet ? !text_is(child(root, "Quiet"), "true") :
		    child(root, "Quiet") != NULL)
		return false;
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)c->name, "Object"))
			continue;
		if (i >= nkeys || !text_is(child(c, "Key"), keys[i]))
			return false;
		i++;
	}
	return i == nkeys;
}

static void test_build_delete(void)
{
	static const char *const keys[] = {
		"plain.txt",
		"a&b",
		"<tag attr=\"v\">",
		"it's \"quoted\"",
		"]]>",
		"tab\there\nnewline\r\ncrlf\rcr",
		"  leading and trailing spaces  ",
		"caf\xc3\xa9/\xe2\x98\x83/\xf0\x9d\x84\x9e",
		"&amp; literally",
		"dir/sub dir/+plus%25",
	};
	static const char *const bad_keys[] = {
		"", "ctl\x01", "esc\x1b", "bad\xff", "overlong\xc0\xaf",
		"surrogate\xed\xa0\x80", "cut\xe2\x98", "nonchar\xef\xbf\xbe",
		"too big\xf4\x90\x80\x80",
	};
	size_t n = sizeof(keys) / sizeof(keys[0]), i, bad = 0;
	const char *one[1];
	xmlDoc *doc;
	char *body;

	body = s3_xml_build_delete(keys, n, true);
	doc = read_back(body, "Delete");
	CHECK("xml build delete round trip", doc &&
	      delete_matches(doc, keys, n, true), "body %s",
	      body ? body : "(null)");
	xmlFreeDoc(doc);
	free(body);

	body = s3_xml_build_delete(keys, 1, false);
	doc = read_back(body, "Delete");
	CHECK("xml build delete not quiet", doc &&
	      delete_matches(doc, keys, 1, false), "body %s",
	      body ? body : "(null)");
	xmlFreeDoc(doc);
	free(body);

	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		one[0] = bad_keys[i];
		errno = 0;
		body = s3_xml_build_delete(one, 1, true);
		bad += body || errno != EINVAL;
		free(body);
	}
	CHECK("xml build delete refuses keys XML cannot carry", !bad,
	      "%zu accepted", bad);
	body = s3_xml_build_delete(keys, 0, true);
	CHECK("xml build delete no keys", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
}

static void test_build_delete_many(void)
{
	const char **keys = calloc(1001, sizeof(*keys));
	char (*names)[32] = calloc(1001, sizeof(*names));
	xmlDoc *doc;
	char *body;
	size_t i;

	for (i = 0; i < 1001; i++) {
		snprintf(names[i], sizeof(names[i]), "dir/key&%04zu", i);
		keys[i] = names[i];
	}
	body = s3_xml_build_delete(keys, 1000, true);
	doc = read_back(body, "Delete");
	CHECK("xml build delete 1000 keys", doc &&
	      delete_matches(doc, keys, 1000, true), "no match");
	xmlFreeDoc(doc);
	free(body);
	body = s3_xml_build_delete(keys, 1001, true);
	CHECK("xml build delete 1001 keys", !body && errno == EINVAL,
	      "errno %d", errno);
	free(body);
	free(names);
	free(keys);
}

static void test_url_decode(void)
{
	char s[64];

	strcpy(s, "a%2Fb%20c+d%e2%82%AC");
	CHECK("xml url decode", s3_url_decode(s) == 0 &&
	      !strcmp(s, "a/b c+d\xe2\x82\xac"), "got %s", s);
	strcpy(s, "bad%g1");
	CHECK("xml url decode bad hex", s3_url_decode(s) == -EINVAL, "ok");
	strcpy(s, "cut%4");
	CHECK("xml url decode cut escape", s3_url_decode(s) == -EINVAL, "ok");
	strcpy(s, "cut%");
	CHECK("xml url decode lone percent", s3_url_decode(s) == -EINVAL,
	      "ok");
	strcpy(s, "nul%00");
	CHECK("xml url decode %00", s3_url_decode(s) == -EINVAL, "ok");
}

/* ---- many threads at once ---- */

#define THREADS		4
#define THREAD_LOOPS	300

static void *thread_main(void *arg)
{
	static const char *const keys[] = { "a&b", "c<d" };
	struct s3_list_result res;
	struct s3_error_info err;
	char etag[S3_ETAG_MAX];
	long bad = 0;
	char *body;
	int i;

	for (i = 0; i < THREAD_LOOPS; i++) {
		bad += parse_list_str(aws_list, &res) || res.nentries != 2 ||
		       strcmp(res.entries[1].key, "big.bin");
		s3_list_result_free(&res);
		bad += parse_list_str(aws_list + 50, &res) != -EBADMSG;
		bad += s3_xml_parse_list(BODY("<?xml version=\"1.0\" "
					      "encoding=\"X\"?><a/>"),
					 &res) != -EBADMSG;
		bad += s3_xml_parse_complete(complete_error_body,
					     strlen(complete_error_body),
					     etag, &err) != -EREMOTEIO ||
		       strcmp(err.code, "InternalError");
		s3_error_info_free(&err);
		body = s3_xml_build_delete(keys, 2, false);
		bad += !body;
		free(body);
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t tids[THREADS];
	long total = 0;
	void *bad;
	int i, n;

	for (n = 0; n < THREADS; n++) {
		if (pthread_create(&tids[n], NULL, thread_main, NULL))
			break;
	}
	for (i = 0; i < n; i++) {
		pthread_join(tids[i], &bad);
		total += (long)bad;
	}
	CHECK("xml parse in threads", n == THREADS && !total,
	      "%d threads, %ld bad results", n, total);
}

/* Run fn with stderr going to a temporary file; return bytes written. */
static long stderr_bytes_during(void (*fn)(void))
{
	char path[] = "/tmp/s3f-xml-stderr-XXXXXX";
	int fd, saved;
	struct stat st;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (fstat(fd, &st))
		st.st_size = -1;
	close(fd);
	return (long)st.st_size;
}

static void run_noisy_tests(void)
{
	test_truncation();
	test_malformed();
	test_threads();
}

int main(void)
{
	long noise;

	test_list_aws();
	test_list_rgw();
	test_list_plain();
	test_list_empty();
	test_list_truncated();
	test_list_url();
	test_list_special_keys();
	test_list_numbers();
	test_list_times();
	test_list_structure();
	noise = stderr_bytes_during(run_noisy_tests);
	CHECK("xml libxml2 prints nothing on stderr", noise == 0,
	      "%ld bytes written to stderr", noise);
	test_error();
	test_initiate();
	test_complete();
	test_copy();
	test_build_complete();
	test_build_delete();
	test_build_delete_many();
	test_url_decode();
	xmlCleanupParser();
	CHECK_EXIT();
}
