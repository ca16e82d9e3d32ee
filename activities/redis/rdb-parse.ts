/**
 * Walks a Redis RDB snapshot once, from the `REDIS` header to the EOF opcode, checking that every record is well
 * formed, and counts the keys of each database. A backup records these counts so that a later verification or
 * restore can be compared with what was taken, without loading the file into a server first.
 *
 * Values are stepped over by their encoded lengths and never decoded: only the few header bytes of each
 * serialized listpack, ziplist or intset are looked at (to skip empty keys the way Redis does, and to catch
 * a length that does not match its header). Memory stays constant (one 1 MiB buffer) whatever the file's
 * size, and a string longer than what is buffered is jumped over rather than read. The CRC-64 trailer is not
 * checked here: `rdb-file.ts` does that in its own pass.
 *
 * The layout follows Redis's `rdb.c` (`rdbLoadRio`, `rdbLoadObject`, `rdbLoadLen`,
 * `rdbGenericLoadStringObject`) for format versions 1–11 (Redis up to 7.2).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DbopsError, ErrorCode } from '../../common/errors';

/** What {@link parseRdb} found in a snapshot. */
export interface RdbParseResult {
  /** The format version from the header (`REDIS0011` → 11). */
  rdbVersion: number;
  /** Keys per database (`db0`, `db3`…), only databases holding at least one key, as `INFO keyspace` counts them. */
  keyCounts: Record<string, number>;
  /** Of those keys, how many carry an expiry (`expires=` of `INFO keyspace`); one entry per database of keyCounts. */
  expiringKeys: Record<string, number>;
  /** Size of the file. */
  bytes: number;
}

/** Highest RDB format version this parser understands (Redis 7.2). */
const MAX_RDB_VERSION = 11;
/** RDB version 5 (Redis 2.6) added the 8-byte CRC-64 after the EOF opcode. */
const FIRST_CHECKSUMMED_VERSION = 5;
const CHUNK_BYTES = 1 << 20;
/** After jumping over a large value, read this much first: the next value may be a large one too. */
const CHUNK_AFTER_JUMP_BYTES = 64 << 10;
/** The longest string header: the LZF marker and two 9-byte lengths. */
const STRING_HEADER_BYTES = 19;
/** Leading bytes of a serialized encoding that are looked at (listpack, ziplist and intset headers fit). */
const BLOB_HEAD_BYTES = 16;
/** Compressed bytes read to recover BLOB_HEAD_BYTES of output: LZF never needs more than 2 per output byte. */
const LZF_PEEK_BYTES = 64;
const EOF_BYTE = 0xff;

// Opcodes (src/rdb.h RDB_OPCODE_*).
const OP_FUNCTION2 = 0xf5;
const OP_FUNCTION_PRE_GA = 0xf6;
const OP_MODULE_AUX = 0xf7;
const OP_IDLE = 0xf8;
const OP_FREQ = 0xf9;
const OP_AUX = 0xfa;
const OP_RESIZEDB = 0xfb;
const OP_EXPIRETIME_MS = 0xfc;
const OP_EXPIRETIME = 0xfd;
const OP_SELECTDB = 0xfe;
const OP_EOF = 0xff;

// Value types (src/rdb.h RDB_TYPE_*).
const T_STRING = 0;
const T_LIST = 1;
const T_SET = 2;
const T_ZSET = 3;
const T_HASH = 4;
const T_ZSET_2 = 5;
const T_MODULE = 6;
const T_MODULE_2 = 7;
const T_HASH_ZIPMAP = 9;
const T_LIST_ZIPLIST = 10;
const T_SET_INTSET = 11;
const T_ZSET_ZIPLIST = 12;
const T_HASH_ZIPLIST = 13;
const T_LIST_QUICKLIST = 14;
const T_STREAM_LISTPACKS = 15;
const T_HASH_LISTPACK = 16;
const T_ZSET_LISTPACK = 17;
const T_LIST_QUICKLIST_2 = 18;
const T_STREAM_LISTPACKS_2 = 19;
const T_SET_LISTPACK = 20;
const T_STREAM_LISTPACKS_3 = 21;

/** What each value type is called in error messages; a type missing here is unknown. */
const TYPE_NAMES: Record<number, string> = {
  [T_STRING]: 'string',
  [T_LIST]: 'list',
  [T_SET]: 'set',
  [T_ZSET]: 'zset',
  [T_HASH]: 'hash',
  [T_ZSET_2]: 'zset',
  [T_HASH_ZIPMAP]: 'hash (zipmap)',
  [T_LIST_ZIPLIST]: 'list (ziplist)',
  [T_SET_INTSET]: 'set (intset)',
  [T_ZSET_ZIPLIST]: 'zset (ziplist)',
  [T_HASH_ZIPLIST]: 'hash (ziplist)',
  [T_LIST_QUICKLIST]: 'list (quicklist)',
  [T_STREAM_LISTPACKS]: 'stream',
  [T_HASH_LISTPACK]: 'hash (listpack)',
  [T_ZSET_LISTPACK]: 'zset (listpack)',
  [T_LIST_QUICKLIST_2]: 'list (quicklist)',
  [T_STREAM_LISTPACKS_2]: 'stream',
  [T_SET_LISTPACK]: 'set (listpack)',
  [T_STREAM_LISTPACKS_3]: 'stream',
};
const KEY_KINDS: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE_NAMES).map(([type, name]) => [type, `${name} key`]),
);

// Module value opcodes (src/rdb.h RDB_MODULE_OPCODE_*), used by MODULE_AUX records.
const MODULE_OPCODE_EOF = 0;
const MODULE_OPCODE_SINT = 1;
const MODULE_OPCODE_UINT = 2;
const MODULE_OPCODE_FLOAT = 3;
const MODULE_OPCODE_DOUBLE = 4;
const MODULE_OPCODE_STRING = 5;

const QUICKLIST_NODE_PLAIN = 1;
const QUICKLIST_NODE_PACKED = 2;

/**
 * Streams an RDB file once, checking its structure, and counts keys per database.
 *
 * The counts are what `INFO keyspace` reports after loading the file into a fresh redis-server, with one
 * exception the caller must allow for: a primary drops keys whose expiry is already past when it loads the
 * file (a replica keeps them), so a loaded server may hold up to `expiringKeys[db]` fewer keys in each
 * database than `keyCounts[db]`. Empty collections, which Redis skips on load, are not counted.
 *
 * A damaged file (truncated, an unknown opcode or type, a length running past the end, a missing EOF opcode,
 * bytes after the checksum) throws BackupCorrupt naming the byte offset; a file that cannot be opened throws
 * BadInput, and so does one holding module data or written in a format newer than version 11 (Redis 7.4+),
 * which this parser cannot read. The CRC-64 is not verified here (see `validateRdb`). Damage inside the
 * entries of a listpack or ziplist, LZF data that does not decompress and duplicate keys are not seen either:
 * only loading the file into Redis (`withScratchRedis`) finds those.
 */
export async function parseRdb(path: string, options: { signal?: AbortSignal } = {}): Promise<RdbParseResult> {
  options.signal?.throwIfAborted();
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new DbopsError(ErrorCode.BadInput, `cannot read the RDB snapshot ${path} (${err.code ?? err.message})`, {
      cause: err,
    });
  });
  try {
    const size = (await handle.stat()).size;
    return await new RdbWalker(handle, size, path, options.signal).walk();
  } finally {
    await handle.close();
  }
}

/** A serialized encoding's length and its first bytes (decompressed when it was stored LZF-compressed). */
interface Blob {
  /** Offset of the string's length header. */
  at: number;
  /** Length of the (decompressed) encoding. */
  length: number;
  head: Buffer;
  /** Its last byte, or -1 when it was compressed (not known without decompressing all of it). */
  last: number;
}

/**
 * The pull-based reader and the parser in one class: `buf[pos, end)` holds the file's bytes from offset
 * `base + pos`. Methods that parse headers are synchronous and expect their bytes to be buffered (callers check
 * `avail` and `await fill(n)` only when needed, so that millions of small keys do not cost a promise each);
 * `skip` never reads, it moves the offset, jumping past the buffer when it has to.
 */
class RdbWalker {
  private readonly buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;
  private end = 0;
  private base = 0;
  private jumped = false;
  /** The encoding of the last `len()` read: -1 for a plain length, else the RDB_ENC_* number. */
  private enc = -1;

  // What is being read, for error messages.
  private recordAt = 0;
  private recordKind = 'header';
  private db = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly path: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private get offset(): number {
    return this.base + this.pos;
  }

  private get avail(): number {
    return this.end - this.pos;
  }

  async walk(): Promise<RdbParseResult> {
    const rdbVersion = await this.header();
    const keyCounts: Record<string, number> = {};
    const expiringKeys: Record<string, number> = {};
    const counts = new Map<number, { keys: number; expiring: number }>();
    let current = { keys: 0, expiring: 0 };
    counts.set(0, current);
    let expires = false;

    for (;;) {
      if (this.avail < 1) await this.fill(1);
      this.recordAt = this.offset;
      if (this.avail < 1) {
        this.recordKind = 'end of file';
        throw this.damaged('the file ends here, without the EOF opcode 0xFF (truncated)', this.size, false);
      }
      const type = this.buf[this.pos++]!;
      if (type < OP_FUNCTION2) {
        this.recordKind = KEY_KINDS[type] ?? 'key';
        if (await this.keyValue(type)) {
          current.keys++;
          if (expires) current.expiring++;
        }
        expires = false;
        continue;
      }
      if (type === OP_EOF) {
        this.recordKind = 'EOF trailer';
        if (rdbVersion >= FIRST_CHECKSUMMED_VERSION) this.skip(8, this.recordAt, 'the checksum');
        if (this.offset !== this.size) {
          throw this.damaged(
            `${this.size - this.offset} unexpected byte(s) after the end of the snapshot`,
            this.offset,
            false,
          );
        }
        break;
      }
      if (this.avail < STRING_HEADER_BYTES * 2) await this.fill(STRING_HEADER_BYTES * 2);
      switch (type) {
        case OP_SELECTDB: {
          this.recordKind = 'SELECTDB opcode';
          const db = this.len();
          if (db > 0x7fffffff) throw this.damaged(`database number ${db} out of range`, this.recordAt);
          this.db = db;
          current = counts.get(db) ?? { keys: 0, expiring: 0 };
          counts.set(db, current);
          break;
        }
        case OP_EXPIRETIME_MS:
          this.recordKind = 'EXPIRETIME_MS opcode';
          this.skip(8, this.recordAt, 'an expiry time');
          expires = true;
          break;
        case OP_EXPIRETIME:
          this.recordKind = 'EXPIRETIME opcode';
          this.skip(4, this.recordAt, 'an expiry time');
          expires = true;
          break;
        case OP_RESIZEDB:
          this.recordKind = 'RESIZEDB opcode';
          this.len();
          this.len();
          break;
        case OP_AUX:
          this.recordKind = 'AUX field';
          this.skipString();
          if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
          this.skipString();
          break;
        case OP_IDLE:
          this.recordKind = 'IDLE opcode';
          this.len();
          break;
        case OP_FREQ:
          this.recordKind = 'FREQ opcode';
          this.skip(1, this.recordAt, 'an LFU frequency');
          break;
        case OP_FUNCTION2:
          this.recordKind = 'FUNCTION2 record';
          this.skipString();
          break;
        case OP_FUNCTION_PRE_GA:
          await this.functionPreGa();
          break;
        case OP_MODULE_AUX:
          await this.moduleAux();
          break;
        default:
          this.recordKind = 'record';
          throw this.damaged(`unknown opcode 0x${type.toString(16)}`, this.recordAt);
      }
    }

    for (const [db, { keys, expiring }] of [...counts].sort((a, b) => a[0] - b[0])) {
      if (keys === 0) continue;
      keyCounts[`db${db}`] = keys;
      expiringKeys[`db${db}`] = expiring;
    }
    return { rdbVersion, keyCounts, expiringKeys, bytes: this.size };
  }

  /** Reads `REDIS` + 4 digits; returns the version. */
  private async header(): Promise<number> {
    await this.fill(9);
    const text = this.buf.toString('latin1', 0, Math.min(this.avail, 9));
    const match = /^REDIS(\d{4})$/.exec(text);
    if (!match) {
      throw this.damaged(`it does not start with "REDIS" and a 4-digit version (found ${JSON.stringify(text)})`, 0);
    }
    const version = Number(match[1]);
    if (version < 1) throw this.damaged(`format version ${match[1]}`, 5);
    if (version > MAX_RDB_VERSION) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `${this.path}: RDB format version ${version} was written by a newer Redis (7.4 or later) than dbops can parse (versions 1–${MAX_RDB_VERSION}, Redis up to 7.2)`,
      );
    }
    this.pos = 9;
    return version;
  }

  /** Reads a key and skips its value of `type`; false when Redis would skip the key as empty. */
  private async keyValue(type: number): Promise<boolean> {
    if (type === T_MODULE || type === T_MODULE_2) {
      throw new DbopsError(
        ErrorCode.BadInput,
        `${this.path}: the key at byte ${this.recordAt} (db${this.db}) holds a module type (RDB type ${type}): module type, cannot parse — dbops cannot count the keys of a snapshot holding Redis module data`,
      );
    }
    if (TYPE_NAMES[type] === undefined) {
      const what = type >= 0xf0 ? `unknown opcode 0x${type.toString(16)}` : `unknown value type ${type}`;
      throw this.damaged(what, this.recordAt);
    }
    if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
    this.skipString();
    switch (type) {
      case T_STRING:
        if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
        this.skipString();
        return true;
      case T_LIST:
      case T_SET:
        return (await this.strings(1, 0)) > 0;
      case T_ZSET:
        return (await this.strings(1, -1)) > 0;
      case T_ZSET_2:
        return (await this.strings(1, 8)) > 0;
      case T_HASH:
        return (await this.strings(2, 0)) > 0;
      case T_LIST_QUICKLIST:
      case T_LIST_QUICKLIST_2:
        return this.quicklist(type === T_LIST_QUICKLIST_2);
      case T_HASH_ZIPMAP:
        this.zipmap(await this.blob('zipmap'));
        return true;
      case T_LIST_ZIPLIST:
      case T_ZSET_ZIPLIST:
      case T_HASH_ZIPLIST:
        return this.ziplist(await this.blob('ziplist')) !== 0;
      case T_SET_INTSET:
        this.intset(await this.blob('intset'));
        return true;
      case T_HASH_LISTPACK:
      case T_ZSET_LISTPACK:
      case T_SET_LISTPACK:
        return this.listpack(await this.blob('listpack')) !== 0;
      case T_STREAM_LISTPACKS:
      case T_STREAM_LISTPACKS_2:
      case T_STREAM_LISTPACKS_3:
        await this.stream(type);
        return true;
      default:
        throw this.damaged(`unknown value type ${type}`, this.recordAt);
    }
  }

  /**
   * Skips a collection: a count, then `count` groups of `perItem` strings, each group followed by `trailer`
   * bytes (8 for a binary double) or, when `trailer` is -1, by a length-prefixed text double. Returns the count.
   */
  private async strings(perItem: number, trailer: number): Promise<number> {
    if (this.avail < 9) await this.fill(9);
    const countAt = this.offset;
    const count = this.len();
    if (count * perItem > this.size - this.offset) {
      throw this.damaged(
        `a count of ${count} elements cannot fit in the ${this.size - this.offset} bytes left`,
        countAt,
      );
    }
    for (let i = 0; i < count; i++) {
      for (let s = 0; s < perItem; s++) {
        if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
        this.skipString();
      }
      if (trailer > 0) this.skip(trailer, this.offset, 'a score');
      else if (trailer < 0) {
        if (this.avail < 1) await this.fill(1);
        const at = this.offset;
        const n = this.u8();
        if (n < 253) this.skip(n, at, 'a score');
      }
    }
    return count;
  }

  /** Skips a quicklist (types 14 and 18); false when every node is empty (Redis then skips the key). */
  private async quicklist(v2: boolean): Promise<boolean> {
    if (this.avail < 9) await this.fill(9);
    const countAt = this.offset;
    const nodes = this.len();
    if (nodes > this.size - this.offset) {
      throw this.damaged(`a count of ${nodes} quicklist nodes cannot fit in the bytes left`, countAt);
    }
    let nonEmpty = false;
    for (let i = 0; i < nodes; i++) {
      let container = QUICKLIST_NODE_PACKED;
      if (v2) {
        if (this.avail < 9) await this.fill(9);
        const at = this.offset;
        container = this.len();
        if (container !== QUICKLIST_NODE_PACKED && container !== QUICKLIST_NODE_PLAIN) {
          throw this.damaged(`unknown quicklist node container ${container}`, at);
        }
      }
      if (container === QUICKLIST_NODE_PLAIN) {
        if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
        const at = this.offset;
        if (this.skipString() === 0) throw this.damaged('an empty quicklist node', at);
        nonEmpty = true;
        continue;
      }
      const blob = await this.blob('quicklist node');
      if (blob.length === 0) throw this.damaged('an empty quicklist node', blob.at);
      const count = v2 ? this.listpack(blob) : this.ziplist(blob);
      if (count !== 0) nonEmpty = true;
    }
    return nonEmpty;
  }

  /** Skips a stream (types 15, 19 and 21: the later ones add IDs, offsets and consumer active times). */
  private async stream(type: number): Promise<void> {
    if (this.avail < 9) await this.fill(9);
    const nodes = this.len();
    for (let i = 0; i < nodes; i++) {
      if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
      const at = this.offset;
      const idLength = this.skipString();
      if (idLength !== 16) throw this.damaged(`a stream node ID of ${idLength} bytes (16 expected)`, at);
      const blob = await this.blob('stream listpack');
      if (this.listpack(blob) === 0) throw this.damaged('an empty listpack inside a stream', blob.at);
    }
    // Length, last ID; from type 19 also the first ID, the largest deleted ID and the entries-added counter.
    const numbers = type >= T_STREAM_LISTPACKS_2 ? 8 : 3;
    if (this.avail < 9 * numbers + 9) await this.fill(9 * numbers + 9);
    const lengthAt = this.offset;
    const length = this.len();
    if (length !== 0 && nodes === 0) throw this.damaged(`a stream of ${length} entries without listpacks`, lengthAt);
    for (let i = 1; i < numbers; i++) this.len();

    const groups = this.len();
    for (let g = 0; g < groups; g++) {
      if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
      this.skipString(); // group name
      if (this.avail < 27) await this.fill(27);
      this.len(); // last delivered ID
      this.len();
      if (type >= T_STREAM_LISTPACKS_2) this.len(); // entries read
      await this.pendingEntries(true);
      if (this.avail < 9) await this.fill(9);
      const consumersAt = this.offset;
      const consumers = this.len();
      if (consumers > this.size - this.offset) {
        throw this.damaged(`a count of ${consumers} consumers cannot fit in the bytes left`, consumersAt);
      }
      for (let c = 0; c < consumers; c++) {
        if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
        this.skipString(); // consumer name
        this.skip(type >= T_STREAM_LISTPACKS_3 ? 16 : 8, this.offset, 'consumer times'); // seen (and active) time
        await this.pendingEntries(false);
      }
    }
  }

  /** Skips a pending-entries list: 16-byte IDs, in the group's list each with a delivery time and count. */
  private async pendingEntries(withDelivery: boolean): Promise<void> {
    if (this.avail < 9) await this.fill(9);
    const at = this.offset;
    const count = this.len();
    if (count * 16 > this.size - this.offset) {
      throw this.damaged(`a count of ${count} pending entries cannot fit in the bytes left`, at);
    }
    if (!withDelivery) {
      this.skip(count * 16, at, 'pending entry IDs');
      return;
    }
    for (let i = 0; i < count; i++) {
      this.skip(24, this.offset, 'a pending entry'); // ID and delivery time
      if (this.avail < 9) await this.fill(9);
      this.len(); // delivery count
    }
  }

  /** Skips a FUNCTION record of Redis 7.0 release candidates: name, engine, optional description, code. */
  private async functionPreGa(): Promise<void> {
    this.recordKind = 'FUNCTION record';
    this.skipString();
    if (this.avail < STRING_HEADER_BYTES + 9) await this.fill(STRING_HEADER_BYTES + 9);
    this.skipString();
    const hasDescription = this.len();
    for (let i = hasDescription ? 0 : 1; i < 2; i++) {
      if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
      this.skipString();
    }
  }

  /** Skips module data outside the keyspace: module id, `when`, then typed values up to an EOF marker. */
  private async moduleAux(): Promise<void> {
    this.recordKind = 'MODULE_AUX record';
    this.len(); // module id
    const whenAt = this.offset;
    if (this.len() !== MODULE_OPCODE_UINT) throw this.damaged('a module "when" field that is not an integer', whenAt);
    this.len();
    for (;;) {
      if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
      const at = this.offset;
      const opcode = this.len();
      if (opcode === MODULE_OPCODE_EOF) return;
      if (opcode === MODULE_OPCODE_SINT || opcode === MODULE_OPCODE_UINT) {
        if (this.avail < 9) await this.fill(9);
        this.len();
      } else if (opcode === MODULE_OPCODE_STRING) {
        if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
        this.skipString();
      } else if (opcode === MODULE_OPCODE_FLOAT) this.skip(4, at, 'a module float');
      else if (opcode === MODULE_OPCODE_DOUBLE) this.skip(8, at, 'a module double');
      else throw this.damaged(`unknown module value opcode ${opcode}`, at);
    }
  }

  /** Checks a listpack's header and terminator; returns its element count (65535: too many for the header). */
  private listpack(blob: Blob): number {
    if (blob.length < 7) throw this.damaged(`a listpack of only ${blob.length} bytes`, blob.at);
    this.checkTotal(blob, 'listpack');
    return blob.head.readUInt16LE(4);
  }

  /** Checks a ziplist's header and terminator; returns its entry count (65535: too many for the header). */
  private ziplist(blob: Blob): number {
    if (blob.length < 11) throw this.damaged(`a ziplist of only ${blob.length} bytes`, blob.at);
    this.checkTotal(blob, 'ziplist');
    if (blob.head.readUInt32LE(4) > blob.length - 1) throw this.damaged('a ziplist tail offset past its end', blob.at);
    return blob.head.readUInt16LE(8);
  }

  private checkTotal(blob: Blob, kind: string): void {
    const total = blob.head.readUInt32LE(0);
    if (total !== blob.length) {
      throw this.damaged(`a ${kind} whose header says ${total} bytes but is stored in ${blob.length}`, blob.at);
    }
    if (blob.last !== -1 && blob.last !== EOF_BYTE) throw this.damaged(`a ${kind} without its end marker`, blob.at);
  }

  /** Checks an intset: a known integer width, a non-zero count, and a length that matches both. */
  private intset(blob: Blob): void {
    if (blob.length < 8) throw this.damaged(`an intset of only ${blob.length} bytes`, blob.at);
    const width = blob.head.readUInt32LE(0);
    const count = blob.head.readUInt32LE(4);
    if ((width !== 2 && width !== 4 && width !== 8) || count === 0 || 8 + count * width !== blob.length) {
      throw this.damaged(`an intset of ${count} ${width}-byte integers stored in ${blob.length} bytes`, blob.at);
    }
  }

  /** Checks a zipmap (Redis 2.x hashes): at least the count byte and the end marker. */
  private zipmap(blob: Blob): void {
    if (blob.length < 2 || (blob.last !== -1 && blob.last !== EOF_BYTE)) {
      throw this.damaged('a zipmap without its end marker', blob.at);
    }
  }

  /**
   * Reads a string holding a serialized encoding (listpack, ziplist, intset, zipmap): its length, its first
   * BLOB_HEAD_BYTES (decompressing only that prefix when it is LZF-compressed) and its last byte.
   */
  private async blob(kind: string): Promise<Blob> {
    if (this.avail < STRING_HEADER_BYTES) await this.fill(STRING_HEADER_BYTES);
    const at = this.offset;
    const n = this.len();
    const enc = this.enc;
    if (enc === 3) {
      const compressed = this.len();
      const length = this.len();
      const take = Math.min(compressed, LZF_PEEK_BYTES);
      if (this.avail < take) await this.fill(take);
      if (this.avail < take) throw this.truncated(at, `an LZF-compressed ${kind}`);
      const head = lzfPrefix(this.buf.subarray(this.pos, this.pos + take), Math.min(length, BLOB_HEAD_BYTES));
      if (!head || (take === compressed && head.length < Math.min(length, BLOB_HEAD_BYTES))) {
        throw this.damaged(`invalid LZF-compressed data in a ${kind}`, at);
      }
      this.skip(compressed, at, `an LZF-compressed ${kind}`);
      return { at, length, head: padded(head), last: -1 };
    }
    if (enc >= 0) {
      throw this.damaged(
        enc <= 2 ? `an integer where a serialized ${kind} was expected` : `unknown string encoding ${enc}`,
        at,
      );
    }
    const headLength = Math.min(n, BLOB_HEAD_BYTES);
    if (this.avail < headLength) await this.fill(headLength);
    if (this.avail < headLength) throw this.truncated(at, `a ${kind}`);
    const head = padded(this.buf.subarray(this.pos, this.pos + headLength));
    if (n <= BLOB_HEAD_BYTES) {
      this.pos += n;
      return { at, length: n, head, last: n > 0 ? head[n - 1]! : -1 };
    }
    this.skip(n - 1, at, `a ${kind}`);
    if (this.avail < 1) await this.fill(1);
    return { at, length: n, head, last: this.u8() };
  }

  /**
   * Skips one string (key, element, field or value) and returns its (uncompressed) length; its header must be
   * buffered (STRING_HEADER_BYTES, or the rest of the file).
   */
  private skipString(): number {
    const at = this.offset;
    const n = this.len();
    switch (this.enc) {
      case -1:
        this.skip(n, at, 'a string');
        return n;
      case 0:
        this.skip(1, at, 'an 8-bit integer');
        return 1;
      case 1:
        this.skip(2, at, 'a 16-bit integer');
        return 2;
      case 2:
        this.skip(4, at, 'a 32-bit integer');
        return 4;
      case 3: {
        const compressed = this.len();
        const length = this.len();
        if (compressed === 0 && length !== 0) throw this.damaged('an empty LZF-compressed string', at);
        this.skip(compressed, at, 'an LZF-compressed string');
        return length;
      }
      default:
        throw this.damaged(`unknown string encoding ${this.enc}`, at);
    }
  }

  /**
   * Reads an RDB length (6, 14, 32 or 64 bits); for the special encodings (11xxxxxx) sets `enc` and returns
   * the encoding number, which is also what Redis takes as the length where it expects a plain one.
   */
  private len(): number {
    const b = this.u8();
    const kind = b >> 6;
    this.enc = -1;
    if (kind === 0) return b & 0x3f;
    if (kind === 1) return ((b & 0x3f) << 8) | this.u8();
    if (kind === 3) {
      this.enc = b & 0x3f;
      return this.enc;
    }
    if (b === 0x80) return this.u32();
    if (b === 0x81) return this.u32() * 0x100000000 + this.u32();
    throw this.damaged(`unknown length encoding 0x${b.toString(16)}`, this.offset - 1);
  }

  private u8(): number {
    if (this.pos >= this.end) throw this.truncated(this.offset, 'a length or type byte');
    return this.buf[this.pos++]!;
  }

  private u32(): number {
    if (this.pos + 4 > this.end) throw this.truncated(this.offset, 'a 32-bit length');
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** Moves `n` bytes on, jumping past the buffer when needed (nothing is read); `what` started at `at`. */
  private skip(n: number, at: number, what: string): void {
    if (n <= this.end - this.pos) {
      this.pos += n;
      return;
    }
    const target = this.offset + n;
    if (target > this.size) {
      throw this.damaged(
        `${what} of ${n} bytes runs past the end of the file (${this.size} bytes; truncated or a damaged length)`,
        at,
      );
    }
    this.base = target;
    this.pos = 0;
    this.end = 0;
    this.jumped = true;
  }

  /** Buffers at least `n` (≤ CHUNK_BYTES) bytes, or all that is left of the file when that is fewer. */
  private async fill(n: number): Promise<void> {
    const want = Math.min(n, this.size - this.offset);
    if (this.avail >= want) return;
    this.signal?.throwIfAborted();
    const left = this.end - this.pos;
    if (left > 0 && this.pos > 0) this.buf.copy(this.buf, 0, this.pos, this.end);
    this.base += this.pos;
    this.pos = 0;
    this.end = left;
    const chunk = this.jumped ? CHUNK_AFTER_JUMP_BYTES : CHUNK_BYTES;
    this.jumped = false;
    while (this.end < want) {
      const length = Math.min(Math.max(chunk, want) - this.end, this.size - this.base - this.end);
      const { bytesRead } = await this.handle.read(this.buf, this.end, length, this.base + this.end);
      if (bytesRead === 0) {
        throw this.damaged(`the file ended at byte ${this.base + this.end} while being read (it shrank?)`, this.offset);
      }
      this.end += bytesRead;
    }
  }

  private truncated(at: number, what: string): DbopsError {
    return this.damaged(`the file ends (at byte ${this.size}) inside ${what} (truncated)`, at);
  }

  /** BackupCorrupt: `<file>: at byte N (in the record being read): <what>: … damaged`. */
  private damaged(what: string, at: number, inRecord = true): DbopsError {
    const where =
      inRecord && this.recordKind !== 'header'
        ? ` (in the ${this.recordKind} starting at byte ${this.recordAt}, db${this.db})`
        : '';
    return new DbopsError(
      ErrorCode.BackupCorrupt,
      `${this.path}: at byte ${at}${where}: ${what}: this copy of the Redis snapshot is damaged`,
    );
  }
}

/** Copies `bytes` into a BLOB_HEAD_BYTES buffer (zero-padded), so header fields can be read without bounds checks. */
function padded(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(BLOB_HEAD_BYTES);
  out.set(bytes.subarray(0, BLOB_HEAD_BYTES));
  return out;
}

/**
 * Decompresses the first `want` bytes of LZF data (liblzf's format, as Redis writes it) from a prefix of
 * the compressed input; null when the data refers back before its start or a token is cut short.
 */
function lzfPrefix(input: Uint8Array, want: number): Uint8Array | null {
  const out = new Uint8Array(want);
  let ip = 0;
  let op = 0;
  while (ip < input.length && op < want) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      // A literal run of ctrl + 1 bytes.
      for (let k = 0; k <= ctrl && op < want; k++) {
        if (ip >= input.length) return out.subarray(0, op);
        out[op++] = input[ip++]!;
      }
    } else {
      // A back reference: length (ctrl >> 5) + 2, distance from the low 5 bits and the next byte, plus one.
      let length = ctrl >> 5;
      if (length === 7) {
        if (ip >= input.length) return out.subarray(0, op);
        length += input[ip++]!;
      }
      if (ip >= input.length) return out.subarray(0, op);
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      if (ref < 0) return null;
      for (let k = 0; k < length + 2 && op < want; k++) out[op++] = out[ref++]!;
    }
  }
  return out.subarray(0, op);
}
