package uk.nhs.hee.tis.resilience.autoconfigure;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntFunction;

/**
 * An HTTP/1.1 server on a loopback socket that answers each request as a script says, including in ways
 * no well-behaved server can: a body that breaks off after a few bytes, a reset before any answer. It
 * counts the requests it read off the wire (request line and headers, and a body as long as its
 * {@code Content-Length}), so a test asserts what really arrived. Each connection carries one request and
 * is then closed.
 */
public final class ScriptedSocketServer implements AutoCloseable {

	private final ServerSocket socket;

	private final IntFunction<Reply> script;

	private final List<String> requests = new CopyOnWriteArrayList<>();

	private final List<Socket> open = new CopyOnWriteArrayList<>();

	private final ExecutorService connections = Executors.newCachedThreadPool((task) -> {
		Thread thread = new Thread(task, "scripted-socket-server");
		thread.setDaemon(true);
		return thread;
	});

	/**
	 * Starts the server on a free loopback port.
	 * @param script the reply to the n-th request (1-based)
	 * @throws IOException when no port can be had
	 */
	public ScriptedSocketServer(IntFunction<Reply> script) throws IOException {
		this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
		this.script = script;
		this.connections.execute(this::accept);
	}

	/**
	 * The URL of a path on this server.
	 * @param path the path, starting with {@code /}
	 * @return the URL
	 */
	public String url(String path) {
		return "http://127.0.0.1:" + this.socket.getLocalPort() + path;
	}

	/**
	 * The request lines ({@code GET /path HTTP/1.1}) read so far, in arrival order.
	 * @return the request lines
	 */
	public List<String> requests() {
		return List.copyOf(this.requests);
	}

	private void accept() {
		while (!this.socket.isClosed()) {
			try {
				Socket connection = this.socket.accept();
				this.open.add(connection);
				this.connections.execute(() -> serve(connection));
			}
			catch (IOException ex) {
				return;
			}
		}
	}

	private void serve(Socket connection) {
		try (connection) {
			String head = readHead(connection.getInputStream());
			if (head == null) {
				return;
			}
			this.requests.add(head.lines().findFirst().orElse(""));
			this.script.apply(this.requests.size()).write(connection);
		}
		catch (IOException ex) {
			// The client went away: nothing to answer.
		}
	}

	private static String readHead(InputStream in) throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream();
		int matched = 0;
		byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
		while (matched < end.length) {
			int b = in.read();
			if (b == -1) {
				return null;
			}
			head.write(b);
			matched = (b == end[matched]) ? matched + 1 : ((b == end[0]) ? 1 : 0);
		}
		String text = head.toString(StandardCharsets.US_ASCII);
		long length = text.lines()
			.filter((line) -> line.toLowerCase().startsWith("content-length:"))
			.mapToLong((line) -> Long.parseLong(line.substring(line.indexOf(':') + 1).trim()))
			.findFirst()
			.orElse(0);
		in.readNBytes((int) length);
		return text;
	}

	@Override
	public void close() throws IOException {
		this.socket.close();
		for (Socket connection : this.open) {
			connection.close();
		}
		this.connections.shutdownNow();
	}

	/** How the server answers one request. */
	@FunctionalInterface
	public interface Reply {

		/**
		 * Answers on the connection the request came in on.
		 * @param connection the connection
		 * @throws IOException when the client went away
		 */
		void write(Socket connection) throws IOException;

		/**
		 * A complete 200 answer.
		 * @param body the body
		 * @return the reply
		 */
		static Reply ok(String body) {
			byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + bytes.length
						+ "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
				out.write(bytes);
				out.flush();
			};
		}

		/**
		 * A complete 200 answer with a chunked body (no {@code Content-Length}), sent in chunks of at most
		 * 5 000 bytes.
		 * @param body the body
		 * @return the reply
		 */
		static Reply chunked(String body) {
			byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
					.getBytes(StandardCharsets.US_ASCII));
				for (int start = 0; start < bytes.length; start += 5_000) {
					int length = Math.min(5_000, bytes.length - start);
					out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
					out.write(bytes, start, length);
					out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
					out.flush();
				}
				out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
				out.flush();
			};
		}

		/**
		 * A complete answer with an empty body.
		 * @param status the status code
		 * @param header one more header line ({@code Name: value}), or an empty string for none
		 * @return the reply
		 */
		static Reply status(int status, String header) {
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				out.write(("HTTP/1.1 " + status + " Status\r\n" + (header.isEmpty() ? "" : header + "\r\n")
						+ "Content-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
				out.flush();
			};
		}

		/**
		 * No answer at all: the connection stays open, silent, until the client gives up on it.
		 * @return the reply
		 */
		static Reply hang() {
			return (connection) -> {
				while (connection.getInputStream().read() != -1) {
					// Whatever the client sends now is not a request this server answers.
				}
			};
		}

		/**
		 * A 200 answer that declares {@code declared} bytes, sends {@code sent} of them, then resets.
		 * @param declared the {@code Content-Length}, or -1 for a chunked body
		 * @param sent how many bytes of the body are sent
		 * @return the reply
		 */
		static Reply brokenOff(int declared, int sent) {
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				String framing = (declared >= 0) ? "Content-Length: " + declared : "Transfer-Encoding: chunked";
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + framing + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				if (declared < 0) {
					out.write((Integer.toHexString(sent) + "\r\n").getBytes(StandardCharsets.US_ASCII));
				}
				out.write("x".repeat(sent).getBytes(StandardCharsets.US_ASCII));
				out.flush();
				// A reset makes the client's kernel drop what it has not yet handed to the client: without a
				// moment to read the headers, the client may see a reset before any answer instead of a body
				// that broke off. Nothing to wait on from here, so a short, bounded pause.
				pause(100);
				reset(connection);
			};
		}

		private static void pause(long millis) {
			try {
				Thread.sleep(millis);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

		/**
		 * A 200 answer that declares {@code declared} bytes, sends {@code sent} of them, then closes the
		 * connection in the ordinary way (FIN, not a reset), as a server that crashed mid-write may.
		 * @param declared the {@code Content-Length}
		 * @param sent how many bytes of the body are sent
		 * @return the reply
		 */
		static Reply truncated(int declared, int sent) {
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + declared + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.write("x".repeat(sent).getBytes(StandardCharsets.US_ASCII));
				out.flush();
			};
		}

		/**
		 * An answer whose body stalls: {@code declared} bytes announced, {@code sent} sent, then nothing more
		 * until the client gives up on the connection.
		 * @param status the status code
		 * @param declared the {@code Content-Length}
		 * @param sent how many bytes of the body are sent
		 * @return the reply
		 */
		static Reply stalledBody(int status, int declared, int sent) {
			return (connection) -> {
				OutputStream out = connection.getOutputStream();
				out.write(("HTTP/1.1 " + status + " Status\r\nContent-Type: text/plain\r\nContent-Length: " + declared
						+ "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
				out.write("x".repeat(sent).getBytes(StandardCharsets.US_ASCII));
				out.flush();
				while (connection.getInputStream().read() != -1) {
					// Held until the client closes the connection.
				}
			};
		}

		/**
		 * No answer: the connection is reset once the request has been read.
		 * @return the reply
		 */
		static Reply resetBeforeResponse() {
			return ScriptedSocketServer::reset;
		}

	}

	private static void reset(Socket connection) throws IOException {
		connection.setSoLinger(true, 0);
		connection.close();
	}

}
