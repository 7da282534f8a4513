/*
 * OsbenchLucene -- the Lucene side of osbench's lucene-nori and lucene-cjk
 * engines (bench/engine_lucene.c starts it and talks to it over its stdin
 * and stdout).
 *
 *   java -Xmx1g -cp osbench-lucene.jar:LUCENE_JARS OsbenchLucene index  DIR nori|cjk
 *   java -Xmx1g -cp ...                           OsbenchLucene search DIR nori|cjk
 *
 * Everything is configured the way a Lucene user who has not tuned anything
 * would have it: KoreanAnalyzer() (nori, mecab-ko-dic, its default
 * decompounding and part-of-speech stop tags) or CJKAnalyzer() (bigrams),
 * the default similarity (BM25, k1 1.2, b 0.75), one thread calling
 * IndexWriter.addDocument (merges run on the default ConcurrentMergeScheduler
 * threads), forceMerge(1) before the index is searched, an IndexSearcher
 * without an executor (one thread) and the classic QueryParser with its
 * default operator OR.  The document id is a stored StringField; the text is
 * indexed but not stored (as osbench's Xapian peer keeps only the id).
 *
 * The protocol.  All integers are big-endian (Java's DataInput order), all
 * text is UTF-8; a length prefix counts bytes, so that documents may hold
 * any byte, newlines and tabs included.
 *
 *   index mode, in:   per document  int32 idlen, id, int32 textlen, text;
 *                     then int32 -1 (the end of the documents)
 *             out:    one line, after forceMerge(1) and close:
 *                     "ok DOCS ADD_MS MERGE_MS PEAK_RSS_KB" or "error MESSAGE"
 *   search mode, in:  per query     int32 len, query text; EOF ends
 *               out:  per query     int8 status (0 answered, 1 the parser
 *                     rejected the query: it was escaped and run again,
 *                     2 failed), int64 nanoseconds (parse, search and
 *                     reading the ids of the hits, measured here so that the
 *                     pipe is not timed), int32 hits, per hit int32 len, id;
 *                     int32 len, message ("" when status is 0)
 *
 * A failure the protocol cannot carry (a broken stream, a corrupt index at
 * open) is a message on stderr and exit status 1; osbench reads EOF then.
 */

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.Set;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.ko.KoreanAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;

public final class OsbenchLucene {
  static final String ID = "id", BODY = "body";
  static final int K = 10;
  /* Longest document or query osbench sends (osq_source caps a document
   * far below this); a larger length means the stream is out of step. */
  static final int MAX_LEN = 1 << 30;

  public static void main(String[] args) {
    if (args.length != 3 || !(args[0].equals("index") || args[0].equals("search"))
        || !(args[2].equals("nori") || args[2].equals("cjk"))) {
      System.err.println("usage: OsbenchLucene index|search DIR nori|cjk");
      System.exit(2);
    }
    Analyzer analyzer = args[2].equals("nori") ? new KoreanAnalyzer() : new CJKAnalyzer();
    DataInputStream in =
        new DataInputStream(new BufferedInputStream(new FileInputStream(FileDescriptor.in), 1 << 16));
    DataOutputStream out =
        new DataOutputStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16));
    try {
      if (args[0].equals("index")) index(args[1], analyzer, in, out);
      else search(args[1], analyzer, in, out);
      out.flush();
    } catch (Throwable t) {
      System.err.println("OsbenchLucene " + args[0] + " " + args[1] + ": " + t);
      System.exit(1);
    }
    System.exit(0);
  }

  static byte[] readBytes(DataInputStream in, int len) throws IOException {
    if (len < 0 || len > MAX_LEN) throw new IOException("bad length " + len + " in the input stream");
    byte[] b = new byte[len];
    in.readFully(b);
    return b;
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  /* The high-water mark of this process's resident memory, from Linux
   * (-1 elsewhere): osbench reports its own measure (wait4), this one is
   * for the log. */
  static long peakRssKb() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
        if (line.startsWith("VmHWM:"))
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
      }
    } catch (IOException | RuntimeException e) {
      /* not Linux: no figure */
    }
    return -1;
  }

  static void index(String dir, Analyzer analyzer, DataInputStream in, DataOutputStream out)
      throws IOException {
    long t0 = System.nanoTime();
    String result;
    try (Directory d = FSDirectory.open(Paths.get(dir))) {
      IndexWriterConfig cfg = new IndexWriterConfig(analyzer);
      cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
      long docs = 0, t1;
      try (IndexWriter w = new IndexWriter(d, cfg)) {
        /* One Document reused, its fields' values replaced: the usual bulk
         * loading idiom. */
        Document doc = new Document();
        Field id = new StringField(ID, "", Field.Store.YES);
        Field body = new TextField(BODY, "", Field.Store.NO);
        doc.add(id);
        doc.add(body);
        for (;;) {
          int idlen = in.readInt();
          if (idlen == -1) break;
          id.setStringValue(utf8(readBytes(in, idlen)));
          body.setStringValue(utf8(readBytes(in, in.readInt())));
          w.addDocument(doc);
          docs++;
        }
        t1 = System.nanoTime();
        w.forceMerge(1);
        w.commit();
      }
      long t2 = System.nanoTime();
      result = "ok " + docs + " " + (t1 - t0) / 1000000 + " " + (t2 - t1) / 1000000 + " " + peakRssKb();
    } catch (EOFException e) {
      result = "error the document stream ended without its end mark";
    }
    out.write((result + "\n").getBytes(StandardCharsets.UTF_8));
  }

  static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  static void search(String dir, Analyzer analyzer, DataInputStream in, DataOutputStream out)
      throws IOException {
    Set<String> idOnly = Collections.singleton(ID);
    try (Directory d = FSDirectory.open(Paths.get(dir)); DirectoryReader reader = DirectoryReader.open(d)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      /* QueryParser is not thread-safe, and costs little to make: one per
       * process, reused, as a single-threaded application would. */
      QueryParser parser = new QueryParser(BODY, analyzer);
      String[] ids = new String[K];
      for (;;) {
        int len;
        try {
          len = in.readInt();
        } catch (EOFException e) {
          break; /* osbench closed the pipe: done */
        }
        String text = utf8(readBytes(in, len));
        int status = 0, n = 0;
        String msg = "";
        long t0 = System.nanoTime();
        try {
          Query q;
          try {
            q = parser.parse(text);
          } catch (ParseException | BooleanQuery.TooManyClauses e) {
            /* What an application does with a query its users typed: take
             * the words literally.  osbench counts the query as failed. */
            status = 1;
            msg = firstLine(e.getMessage());
            q = literal(parser, text);
          }
          TopDocs top = searcher.search(q, K);
          for (ScoreDoc sd : top.scoreDocs) ids[n++] = searcher.doc(sd.doc, idOnly).get(ID);
        } catch (IOException | RuntimeException e) {
          status = 2;
          n = 0;
          msg = firstLine(String.valueOf(e));
        }
        long ns = System.nanoTime() - t0;
        out.writeByte(status);
        out.writeLong(ns);
        out.writeInt(n);
        for (int i = 0; i < n; i++) writeString(out, ids[i] == null ? "" : ids[i]);
        writeString(out, msg);
        out.flush();
      }
    }
  }

  /* The query a rejected text is retried as: QueryParser.escape for the
   * special characters, and the operators AND, OR and NOT (which escape
   * leaves alone, being words) in lower case, which the parser takes as
   * words and both analyzers lower-case anyway.  Should even that fail, the
   * analyzer's terms of the whole text, OR'ed (QueryBuilder). */
  static final java.util.regex.Pattern OPERATOR =
      java.util.regex.Pattern.compile("(?<=^|\\s)(AND|OR|NOT)(?=\\s|$)");

  static Query literal(QueryParser parser, String text) {
    java.util.regex.Matcher m = OPERATOR.matcher(QueryParser.escape(text));
    StringBuilder b = new StringBuilder();
    while (m.find()) m.appendReplacement(b, m.group(1).toLowerCase(java.util.Locale.ROOT));
    m.appendTail(b);
    try {
      return parser.parse(b.toString());
    } catch (ParseException | BooleanQuery.TooManyClauses e) {
      Query q = parser.createBooleanQuery(BODY, text);
      return q != null ? q : new BooleanQuery.Builder().build();
    }
  }

  static String firstLine(String s) {
    if (s == null) return "";
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
