package uk.nhs.hee.tis.resilience.autoconfigure;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback port whose connections are never refused and never accepted, as behind a dropped link or a
 * firewall: a listening socket that never accepts, whose accept queue is filled first, after which the kernel
 * drops every new SYN and a caller waits for its connect timeout. No privileges needed.
 */
public final class UnansweredPort implements AutoCloseable {

	private final ServerSocket listener;

	private final List<Socket> queued = new ArrayList<>();

	public UnansweredPort() throws IOException {
		this.listener = new ServerSocket();
		try {
			this.listener.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 1);
			for (int i = 0; i < 16; i++) {
				Socket socket = new Socket();
				try {
					socket.connect(this.listener.getLocalSocketAddress(), 200);
					this.queued.add(socket);
				}
				catch (SocketTimeoutException ex) {
					socket.close();
					return;
				}
			}
			throw new IOException("the accept queue of port " + port() + " never filled");
		}
		catch (IOException | RuntimeException ex) {
			close();
			throw ex;
		}
	}

	public int port() {
		return this.listener.getLocalPort();
	}

	/** {@code http://127.0.0.1:port}. */
	public String url() {
		return "http://127.0.0.1:" + port();
	}

	@Override
	public void close() throws IOException {
		for (Socket socket : this.queued) {
			socket.close();
		}
		this.listener.close();
	}

}
