package uk.nhs.hee.tis.examples.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * An address cut off at the network level, as a dropped link or a firewall makes it: connections are never
 * refused and never accepted, their SYNs go unanswered and callers wait for their connect timeout. Made on
 * loopback without privileges: a listening socket that never accepts, whose accept queue is filled first,
 * after which the kernel drops every new SYN.
 */
final class Blackhole implements AutoCloseable {

	private final ServerSocket listener;

	private final List<Socket> queued = new ArrayList<>();

	Blackhole(int port) throws IOException {
		this.listener = new ServerSocket();
		this.listener.setReuseAddress(true);
		this.listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
		// Fill the accept queue until a connection attempt goes unanswered.
		for (int i = 0; i < 16; i++) {
			Socket socket = new Socket();
			try {
				socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
				this.queued.add(socket);
			}
			catch (SocketTimeoutException ex) {
				socket.close();
				return;
			}
		}
		throw new IOException("the accept queue of port " + port + " never filled");
	}

	@Override
	public void close() throws IOException {
		for (Socket socket : this.queued) {
			socket.close();
		}
		this.listener.close();
	}

}
